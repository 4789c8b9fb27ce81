/**
 * Zip archives written byte by byte for the reader's tests (PKWARE APPNOTE 4.3): stored or deflated entries, a data
 * descriptor after the data, zip64 extra fields and the zip64 end records — the variants a workbook may come in,
 * which the workbook library's writer does not all produce.
 */
import { deflateRawSync } from 'node:zlib';

export interface ZipSpec {
  name: string;
  data: string | Buffer;
  /** 0 stored, 8 deflated (the default); another number is written as it is (with the data stored). */
  method?: number;
  /** Sizes and CRC left 0 in the local header and written in a data descriptor after the data. */
  descriptor?: boolean;
  /** Sizes and the header offset as all ones in the directory, the real ones in a zip64 extra field. */
  zip64?: boolean;
  /** General purpose flags to add (1: encrypted). */
  flags?: number;
  /** The uncompressed size the directory declares, when it is to lie (a zip bomb's). */
  declaredSize?: number;
}

export interface ZipOptions {
  /** The end of the directory as zip64 end record + locator + an end record of all ones. */
  zip64End?: boolean;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function zip(entries: ZipSpec[], o: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8');
    const method = e.method ?? 8;
    const body = method === 8 ? deflateRawSync(data) : data;
    const crc = crc32(data);
    const name = Buffer.from(e.name, 'utf8');
    const flags = (e.flags ?? 0) | 0x800 | (e.descriptor ? 8 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(e.descriptor ? 0 : crc, 14);
    local.writeUInt32LE(e.descriptor ? 0 : body.length, 18);
    local.writeUInt32LE(e.descriptor ? 0 : data.length, 22);
    local.writeUInt16LE(name.length, 26);
    // A local extra field the directory does not have: the data starts after the local header's own lengths.
    const localExtra = Buffer.from([0xfe, 0xca, 4, 0, 1, 2, 3, 4]);
    local.writeUInt16LE(localExtra.length, 28);
    parts.push(local, name, localExtra, body);
    if (e.descriptor) {
      const d = Buffer.alloc(16);
      d.writeUInt32LE(0x08074b50, 0);
      d.writeUInt32LE(crc, 4);
      d.writeUInt32LE(body.length, 8);
      d.writeUInt32LE(data.length, 12);
      parts.push(d);
    }
    const extra = e.zip64 ? zip64Extra(data.length, body.length, offset) : Buffer.alloc(0);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(45, 4);
    c.writeUInt16LE(e.zip64 ? 45 : 20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : body.length, 20);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : (e.declaredSize ?? data.length), 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt32LE(e.zip64 ? 0xffffffff : offset, 42);
    central.push(c, name, extra);
    offset += local.length + name.length + localExtra.length + body.length + (e.descriptor ? 16 : 0);
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (o.zip64End) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(cd.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(o.zip64End ? 0xffff : entries.length, 8);
  end.writeUInt16LE(o.zip64End ? 0xffff : entries.length, 10);
  end.writeUInt32LE(o.zip64End ? 0xffffffff : cd.length, 12);
  end.writeUInt32LE(o.zip64End ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, end]);
}

function zip64Extra(size: number, compressed: number, offset: number): Buffer {
  const b = Buffer.alloc(4 + 24);
  b.writeUInt16LE(1, 0);
  b.writeUInt16LE(24, 2);
  b.writeBigUInt64LE(BigInt(size), 4);
  b.writeBigUInt64LE(BigInt(compressed), 12);
  b.writeBigUInt64LE(BigInt(offset), 20);
  return b;
}

/** The parts of a minimal workbook: sheets in tab order (name → sheet XML), a shared-strings part, styles. */
export interface BookSpec {
  sheets: Array<{ name: string; xml: string; part?: string; state?: 'hidden' | 'veryHidden' }>;
  sharedStrings?: string;
  styles?: string;
  date1904?: boolean;
  /** Write relationship targets as absolute paths (/xl/worksheets/...), as some generators do. */
  absoluteTargets?: boolean;
  /** Store the sheets before the shared strings and the workbook (as Excel stores sheets before shared strings). */
  sheetsFirst?: boolean;
}

export function workbookZip(spec: BookSpec, o: ZipOptions & { method?: number } = {}): Buffer {
  const ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  const sheetParts = spec.sheets.map((s, i) => s.part ?? `worksheets/sheet${i + 1}.xml`);
  const target = (p: string) => (spec.absoluteTargets ? `/xl/${p}` : p);
  const workbook = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook ${ns}>${spec.date1904 ? '<workbookPr date1904="1"/>' : ''}<sheets>${spec.sheets
    .map((s, i) => `<sheet name="${s.name.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" sheetId="${i + 1}"${s.state ? ` state="${s.state}"` : ''} r:id="rId${i + 1}"/>`)
    .join('')}</sheets></workbook>`;
  const rels = `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheetParts
    .map((p, i) => `<Relationship Id="rId${i + 1}" Type="${rel}/worksheet" Target="${target(p)}"/>`)
    .join('')}${spec.sharedStrings !== undefined ? `<Relationship Id="rIdS" Type="${rel}/sharedStrings" Target="${target('sharedStrings.xml')}"/>` : ''}${
    spec.styles !== undefined ? `<Relationship Id="rIdT" Type="${rel}/styles" Target="${target('styles.xml')}"/>` : ''
  }</Relationships>`;
  const sheets = spec.sheets.map((s, i) => ({ name: `xl/${sheetParts[i]}`, data: s.xml, method: o.method }));
  const rest = [
    { name: '[Content_Types].xml', data: '<Types/>', method: o.method },
    { name: 'xl/workbook.xml', data: workbook, method: o.method },
    { name: 'xl/_rels/workbook.xml.rels', data: rels, method: o.method },
    ...(spec.styles !== undefined ? [{ name: 'xl/styles.xml', data: spec.styles, method: o.method }] : []),
    ...(spec.sharedStrings !== undefined ? [{ name: 'xl/sharedStrings.xml', data: spec.sharedStrings, method: o.method }] : []),
  ];
  return zip(spec.sheetsFirst ? [...sheets, ...rest] : [...rest, ...sheets], o);
}

/** A sheet's XML around its rows. */
export function sheetXml(rows: string): string {
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
}
