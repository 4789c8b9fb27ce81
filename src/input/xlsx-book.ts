/**
 * What a workbook says about its sheets before any is read: their names in tab order (the order Excel shows) and
 * the part holding each (xl/workbook.xml and its relationships), the date system (1900 or 1904), which cell styles
 * are dates (xl/styles.xml), and where the shared strings are. These parts are small: each is scanned to its end.
 */
import type { ZipEntry, ZipFile } from './zip.js';
import { notAWorkbook } from './zip.js';
import { type Attributes, type XmlHandler, scanPart } from './xlsx-xml.js';

export interface SheetRef {
  name: string;
  /** The zip entry of the sheet's XML, e.g. xl/worksheets/sheet1.xml. */
  part: string;
  /** A hidden tab (`state="hidden"` or `"veryHidden"`): Excel does not show it. */
  hidden: boolean;
}

export interface Book {
  sheets: SheetRef[];
  date1904: boolean;
  /** By cell style index (`<c s="3">`): whether its number format shows a date or a time. */
  dateStyles: boolean[];
  /** The shared strings part, if the workbook has one. */
  sharedStrings: ZipEntry | undefined;
}

const WORKBOOK = 'xl/workbook.xml';

export async function readBook(zip: ZipFile, display: string): Promise<Book> {
  const wbEntry = zip.entry(WORKBOOK) ?? [...zip.entries.values()].find((e) => /(^|\/)workbook\.xml$/.test(e.name));
  if (!wbEntry) throw notAWorkbook(display, 'it is a zip archive without xl/workbook.xml: not a workbook');
  const wbPart = wbEntry.name;
  const dir = wbPart.slice(0, wbPart.lastIndexOf('/') + 1);
  const relsPart = `${dir}_rels/${wbPart.slice(dir.length)}.rels`;
  const wb = await workbookOf(zip.read(wbEntry));
  const relsEntry = zip.entry(relsPart);
  const rels = relsEntry ? await relationshipsOf(zip.read(relsEntry), dir) : new Map<string, Relationship>();
  const sheets: SheetRef[] = [];
  for (const s of wb.sheets) {
    const rel = rels.get(s.rid);
    // Chart, dialog and macro sheets are tabs too, but hold no cells: only worksheets are sheets to read.
    if (rel && !/\/worksheet$/.test(rel.type)) continue;
    sheets.push({ name: s.name, part: rel?.target ?? `${dir}worksheets/sheet${sheets.length + 1}.xml`, hidden: s.hidden });
  }
  const stylesRel = [...rels.values()].find((r) => /\/styles$/.test(r.type));
  const stylesEntry = zip.entry(stylesRel?.target ?? `${dir}styles.xml`);
  const stringsRel = [...rels.values()].find((r) => /\/sharedStrings$/.test(r.type));
  return {
    sheets,
    date1904: wb.date1904,
    dateStyles: stylesEntry ? await dateStylesOf(zip.read(stylesEntry)) : [],
    sharedStrings: zip.entry(stringsRel?.target ?? `${dir}sharedStrings.xml`),
  };
}

type Part = AsyncIterable<Buffer>;

/** A handler that looks at tags only (the parts read here keep what they say in attributes). */
function tags(open: XmlHandler['open'], close: XmlHandler['close'] = () => {}): XmlHandler {
  return { open, close, text() {}, wantText: false };
}

async function workbookOf(part: Part): Promise<{ sheets: Array<{ name: string; rid: string; hidden: boolean }>; date1904: boolean }> {
  const sheets: Array<{ name: string; rid: string; hidden: boolean }> = [];
  let date1904 = false;
  await scanPart(part, tags((name, a) => {
    if (name === 'sheet') {
      const state = a.get('state');
      sheets.push({ name: a.get('name') ?? `Sheet${sheets.length + 1}`, rid: a.get('r:id') ?? relId(a) ?? '', hidden: state === 'hidden' || state === 'veryHidden' });
    }
    else if (name === 'workbookPr') date1904 = isTrue(a.get('date1904'));
  }));
  return { sheets, date1904 };
}

/** The relationship id under whatever prefix the relationships namespace got (`r:id` is usual). */
function relId(a: Attributes): string | undefined {
  for (const p of ['r', 'rel', 'ns1', 'x']) {
    const v = a.get(`${p}:id`);
    if (v !== undefined) return v;
  }
  return undefined;
}

function isTrue(v: string | undefined): boolean {
  return v === '1' || v === 'true';
}

interface Relationship {
  type: string;
  target: string;
}

/** Relationship id → its type and the zip entry it targets (relative to the workbook's folder, or absolute). */
async function relationshipsOf(part: Part, dir: string): Promise<Map<string, Relationship>> {
  const rels = new Map<string, Relationship>();
  await scanPart(part, tags((name, a) => {
    if (name !== 'Relationship') return;
    const id = a.get('Id');
    const target = a.get('Target');
    if (id === undefined || target === undefined || a.get('TargetMode') === 'External') return;
    rels.set(id, { type: a.get('Type') ?? '', target: resolvePart(dir, target) });
  }));
  return rels;
}

/** A relationship's target as a zip entry name: `/xl/worksheets/sheet1.xml` is absolute, `worksheets/sheet1.xml` relative. */
export function resolvePart(dir: string, target: string): string {
  const parts = (target.startsWith('/') ? target.slice(1) : dir + target).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') out.pop();
    else if (p !== '.' && p !== '') out.push(p);
  }
  return out.join('/');
}

/** Built-in number formats that show dates or times (ECMA-376 18.8.30; 27-36 and 50-58 in CJK locales). */
function isBuiltinDate(id: number): boolean {
  return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) || (id >= 50 && id <= 58);
}

/** Whether style i (cellXfs' i-th xf) is a date, from styles.xml's numFmts and cellXfs. */
async function dateStylesOf(part: Part): Promise<boolean[]> {
  const custom = new Map<number, string>();
  const styles: boolean[] = [];
  let inCellXfs = false;
  const open: XmlHandler['open'] = (name, a, selfClosing) => {
    if (name === 'numFmt') custom.set(Number(a.get('numFmtId')), a.get('formatCode') ?? '');
    else if (name === 'cellXfs' && !selfClosing) inCellXfs = true;
    else if (name === 'xf' && inCellXfs) {
      const id = Number(a.get('numFmtId') ?? 0);
      const code = custom.get(id);
      styles.push(code !== undefined ? isDateFormat(code) : isBuiltinDate(id));
    }
  };
  await scanPart(part, tags(open, (name) => {
    if (name === 'cellXfs') inCellXfs = false;
  }));
  return styles;
}

/**
 * Whether a custom number format shows a date or a time: a y, m, d, h or s outside quoted text, backslash escapes,
 * `_x` / `*x` spacing and `[...]` sections (colours, locales, conditions); `[h]`, `[mm]`, `[ss]` (elapsed time) count.
 */
export function isDateFormat(code: string): boolean {
  let s = code;
  if (/\[(h+|m+|s+)\]/i.test(s)) return true;
  s = s.replace(/"[^"]*"/g, '').replace(/\\./g, '').replace(/[_*]./g, '').replace(/\[[^\]]*\]/g, '');
  return /[ymdhs]/i.test(s);
}

/** Milliseconds between 1899-12-30 (serial 0 of the 1900 system, as the serials from March 1900 on count) and 1970-01-01. */
const EPOCH_1900 = 25569;
/** The 1904 system's serial 0 is 1904-01-01, 1462 days later. */
const OFFSET_1904 = 1462;
const DAY_MS = 86_400_000;

/**
 * A date cell's serial number → the Date (UTC) Excel shows. Excel's 1900 system counts 1900-02-29, which did not
 * exist: serials from 1 (1900-01-01) to 60 are one day further on than the count from 1899-12-30 says. A time of
 * day alone (a serial under 1, Excel's "1900-01-00") stays on 1899-12-30, as the workbook library read it.
 */
export function serialDate(serial: number, date1904: boolean): Date {
  const days = date1904 ? serial + OFFSET_1904 : serial >= 1 && serial < 61 ? serial + 1 : serial;
  return new Date(Math.round((days - EPOCH_1900) * DAY_MS));
}
