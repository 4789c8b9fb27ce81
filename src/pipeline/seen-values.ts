/**
 * The first row of each distinct text, in fixed-size typed arrays instead of a Map of strings: a million values cost
 * ~24 MB that the garbage collector never walks, not ~100 MB of strings and map entries (docs/performance.md, case 1
 * with the model schema). A value is kept as a 64-bit fingerprint (two 32-bit multiplicative hashes with different seeds and multipliers), so
 * two different values are taken for the same one with a chance of about n² / 2⁶⁵ (3 in 100 million for a million
 * distinct values) — the price of not holding the strings (docs/decisions.md).
 */
export class SeenValues {
  private hi = new Uint32Array(1024);
  private lo = new Uint32Array(1024);
  /** Row number + 1 (0: the slot is free). */
  private rows = new Float64Array(1024);
  private size = 0;

  /** The row that had `text` first; when none did, `row` is remembered for it and undefined returned. */
  firstOr(text: string, row: number): number | undefined {
    const h = hash(text, 0x811c9dc5, 0x01000193); // FNV-1a
    const l = hash(text, 0x9747b28c, 0x5bd1e995); // the same steps with MurmurHash2's multiplier
    const slot = this.find(h, l);
    if (this.rows[slot] !== 0) return this.rows[slot]! - 1;
    this.hi[slot] = h;
    this.lo[slot] = l;
    this.rows[slot] = row + 1;
    if (++this.size * 2 > this.rows.length) this.grow();
    return undefined;
  }

  /** The slot holding this fingerprint, or the free slot where it goes (linear probing). */
  private find(h: number, l: number): number {
    const mask = this.rows.length - 1;
    let i = h & mask;
    while (this.rows[i] !== 0 && (this.hi[i] !== h || this.lo[i] !== l)) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const [hi, lo, rows] = [this.hi, this.lo, this.rows];
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(hi.length * 2);
    this.rows = new Float64Array(hi.length * 2);
    for (let i = 0; i < rows.length; i++) {
      if (rows[i] === 0) continue;
      const slot = this.find(hi[i]!, lo[i]!);
      this.hi[slot] = hi[i]!;
      this.lo[slot] = lo[i]!;
      this.rows[slot] = rows[i]!;
    }
  }
}

/** FNV-1a's steps over the UTF-16 code units, from `seed`, multiplying by `prime`: an unsigned 32-bit hash. */
function hash(text: string, seed: number, prime: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, prime) >>> 0;
  }
  return h;
}
