/**
 * What a file's first bytes say it is, for the readers that look before they read: a zip archive (every .xlsx is
 * one) or an OLE compound document (an old .xls, or a password-protected .xlsx, which Office saves encrypted inside
 * one). Kept apart from zip.ts so that telling a file's kind does not load the workbook reader.
 */
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** Bytes an OLE document starts with (MS-CFB 2.2). */
export const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

export function isZip(head: Buffer): boolean {
  return head.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC);
}

export function isOleDocument(head: Buffer): boolean {
  return head.subarray(0, OLE_MAGIC.length).equals(OLE_MAGIC);
}

/** A zip or an OLE document: the xlsx reader reads the one and says what the other is. */
export function isWorkbookLike(head: Buffer): boolean {
  return isZip(head) || isOleDocument(head);
}
