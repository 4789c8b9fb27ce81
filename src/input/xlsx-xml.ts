/**
 * A small XML scanner for the parts of a workbook (sheets, shared strings, workbook, styles, relationships): tags,
 * their attributes and the text between them, fed in pieces of any size. Not a general XML parser: no DTDs, no
 * namespaces beyond dropping a tag's prefix (`<x:c>` is `c`: some generators write one), comments, processing
 * instructions and CDATA passed over (CDATA's text kept). What a workbook's parts need, at the speed a sheet of a
 * million rows needs: no object per tag, a tag's attributes read only when asked for, text sliced only when the
 * handler wants it.
 *
 * A piece may end anywhere, even inside a tag, an entity or a text: what is not complete is kept and scanned again
 * with the next piece (at most one tag or one text).
 */

export interface XmlHandler {
  /** A start tag (`selfClosing`: `<c/>`, no end tag follows); its attributes through `attrs` until the next event. */
  open(name: string, attrs: Attributes, selfClosing: boolean): void;
  close(name: string): void;
  /** Text between tags, entities decoded; called only while `wantText` is true. */
  text(text: string): void;
  /** Whether the text at this point matters (inside a value); other text is skipped without being cut out. */
  wantText: boolean;
}

/** The attributes of the tag being reported: read from the tag's own text when asked for. */
export class Attributes {
  private tag = '';
  private from = 0;
  private to = 0;

  /** @internal the scanner points this at each tag's attributes: `text[from, to)` (no copy of them is made) */
  set(text: string, from: number, to: number): void {
    this.tag = text;
    this.from = from;
    this.to = to;
  }

  /** The value of attribute `name` (without a prefix; `r:id` is asked for as `r:id`), entities decoded. */
  get(name: string): string | undefined {
    const one = [name];
    const out: Array<string | undefined> = [undefined];
    this.read(one, out);
    return out[0];
  }

  /**
   * The values of several attributes in one pass over the tag (a sheet's every cell asks for r, t and s):
   * `out[i]` is the value of `names[i]`, undefined when the tag has none.
   */
  read(names: readonly string[], out: Array<string | undefined>): void {
    out.fill(undefined);
    const s = this.tag;
    let i = this.from;
    const n = this.to;
    while (i < n) {
      // Attribute name: up to '=' (skipping blanks).
      while (i < n && isBlank(s.charCodeAt(i))) i++;
      const nameStart = i;
      while (i < n && s.charCodeAt(i) !== 61 /* = */ && !isBlank(s.charCodeAt(i))) i++;
      const nameEnd = i;
      while (i < n && s.charCodeAt(i) !== 61) i++;
      i++; // '='
      while (i < n && isBlank(s.charCodeAt(i))) i++;
      const quote = s.charCodeAt(i);
      if (quote !== 34 && quote !== 39) return; // not well-formed: no more attributes
      const end = s.indexOf(quote === 34 ? '"' : "'", i + 1);
      if (end < 0 || end >= n) return;
      for (let k = 0; k < names.length; k++) {
        const name = names[k]!;
        if (nameEnd - nameStart === name.length && s.startsWith(name, nameStart)) {
          out[k] = decodeEntities(s.slice(i + 1, end));
          break;
        }
      }
      i = end + 1;
    }
  }
}

export class XmlScanner {
  private rest = '';
  private readonly attrs = new Attributes();

  constructor(private readonly handler: XmlHandler) {}

  /** Scans a piece of the document; what is cut off at its end waits for the next piece. */
  push(piece: string): void {
    const s = this.rest.length > 0 ? this.rest + piece : piece;
    this.rest = s.slice(this.scan(s));
  }

  /** The document is complete: anything left is an unfinished tag, which is not well-formed XML. */
  end(): void {
    const left = this.rest;
    this.rest = '';
    if (left.length > 0 && left.includes('<')) throw new Error('the XML ends inside a tag');
    if (left.length > 0 && this.handler.wantText) this.handler.text(decodeEntities(left));
  }

  /** Scans complete tags and texts of `s`; returns where the incomplete rest starts. */
  private scan(s: string): number {
    const h = this.handler;
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (s.charCodeAt(i) !== 60 /* < */) {
        const lt = s.indexOf('<', i);
        if (lt < 0) return i; // the text may go on in the next piece
        if (h.wantText) h.text(decodeEntities(s.slice(i, lt)));
        i = lt;
        continue;
      }
      const c1 = s.charCodeAt(i + 1);
      if (c1 === 33 /* ! */ || c1 === 63 /* ? */) {
        const end = this.special(s, i);
        if (end < 0) return i;
        i = end;
        continue;
      }
      const gt = s.indexOf('>', i + 1);
      if (gt < 0) return i;
      if (c1 === 47 /* / */) {
        h.close(localName(s, i + 2, gt));
      } else {
        const selfClosing = s.charCodeAt(gt - 1) === 47;
        const tagEnd = selfClosing ? gt - 1 : gt;
        let nameEnd = i + 1;
        while (nameEnd < tagEnd && !isBlank(s.charCodeAt(nameEnd))) nameEnd++;
        this.attrs.set(s, nameEnd, tagEnd);
        h.open(localName(s, i + 1, nameEnd), this.attrs, selfClosing);
      }
      i = gt + 1;
    }
    return n;
  }

  /** A comment, a processing instruction, a DOCTYPE or CDATA at `i`: where it ends, or -1 when not in `s` yet. */
  private special(s: string, i: number): number {
    if (s.startsWith('<!--', i)) {
      const end = s.indexOf('-->', i + 4);
      return end < 0 ? -1 : end + 3;
    }
    if (s.startsWith('<![CDATA[', i)) {
      const end = s.indexOf(']]>', i + 9);
      if (end < 0) return -1;
      if (this.handler.wantText) this.handler.text(s.slice(i + 9, end));
      return end + 3;
    }
    if (s.length - i < 9 && '<![CDATA['.startsWith(s.slice(i))) return -1; // cut inside the marker itself
    const end = s.indexOf('>', i + 2);
    return end < 0 ? -1 : end + 1;
  }
}

/**
 * Scans a part's bytes as they come (UTF-8, a character cut between pieces decoded whole), yielding after each piece
 * so the caller can take what the handler completed; the end is checked (a part cut inside a tag is an error).
 */
export async function* scanPieces(pieces: AsyncIterable<Buffer>, handler: XmlHandler): AsyncGenerator<void> {
  const scanner = new XmlScanner(handler);
  const decoder = new TextDecoder('utf-8');
  for await (const piece of pieces) {
    scanner.push(decoder.decode(piece, { stream: true }));
    yield;
  }
  scanner.push(decoder.decode());
  scanner.end();
}

/** Scans a whole part (see scanPieces). */
export async function scanPart(pieces: AsyncIterable<Buffer>, handler: XmlHandler): Promise<void> {
  for await (const _ of scanPieces(pieces, handler));
}

/** The tag name in s[from, to) without its namespace prefix. */
function localName(s: string, from: number, to: number): string {
  let end = to;
  while (end > from && isBlank(s.charCodeAt(end - 1))) end--;
  let start = from;
  for (let i = from; i < end; i++) if (s.charCodeAt(i) === 58 /* : */) start = i + 1;
  return s.slice(start, end);
}

function isBlank(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five named entities and numeric character references; an unknown one is left as it is. */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) !== 35 /* # */) return NAMED[ref] ?? whole;
    const code = ref.charCodeAt(1) === 120 /* x */ ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/**
 * Excel's escapes in cell texts: `_xHHHH_` is the UTF-16 unit HHHH (characters XML cannot hold, such as control
 * characters), and `_x005F_` before such a sequence keeps it literal (`_x005F_x0041_` is the text `_x0041_`).
 */
export function unescapeExcel(s: string): string {
  if (!s.includes('_x')) return s;
  return s.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
