/**
 * The first row of each distinct text, in typed arrays instead of a Map of strings: a million values cost ~17 MB
 * that the garbage collector never walks, not ~100 MB of strings and map entries (docs/performance.md, case 1 with
 * the model schema). A value is kept as a 64-bit fingerprint (two 32-bit hashes with different seeds and
 * multipliers), so two different values are taken for the same one with a chance of about n² / 2⁶⁵ (3 in 100 million
 * for a million distinct values) — the price of not holding the strings (docs/decisions.md).
 *
 * The fingerprints are spread over SHARDS small open-addressing tables by their top bits, and each table grows on its
 * own by half its size: a growth copies 1/256 of the values, never the whole set (a doubled single table peaked at
 * 1.5–2× what it held while it copied, and its copies were the dry run's slowest step), and the tables stay 50–75 %
 * full, so a million values take ~17 MB where a doubled table took 32 MB (48 MB while copying).
 */
const SHARDS = 256;
/** Slots of a new shard: 256 × 32 × 12 bytes = 96 KB for an empty set. */
const FIRST_SLOTS = 32;
/** A shard grows when it is fuller than this (linear probing stays short below it). */
const MAX_LOAD = 0.75;
/** Words of a slot: the fingerprint's two halves, then the row + 1 (0: the slot is free). */
const W = 3;

/** A presized set starts this full for the values expected: a quarter more can come before a shard grows. */
const PRESIZE_LOAD = 0.6;
/** Values a set is presized for at most (~40 MB): an estimate is a guess; past this, the shards grow as they fill. */
const PRESIZE_MAX = 2_000_000;

export class SeenValues {
  private readonly shards: Uint32Array[];
  private readonly counts = new Uint32Array(SHARDS);

  /**
   * `expected`: about how many values will come (0: unknown). A set sized for them makes no copies as it fills: the
   * growth of shards from 32 slots was about half of the check's time at a million values, partly the collector's
   * work for ~3,000 new arrays (docs/performance.md, issue 16 "the unique check").
   */
  constructor(expected = 0) {
    const slots = Math.max(FIRST_SLOTS, Math.ceil(Math.min(expected, PRESIZE_MAX) / SHARDS / PRESIZE_LOAD));
    this.shards = Array.from({ length: SHARDS }, () => new Uint32Array(slots * W));
  }

  /** Fingerprints of a chunk's texts, reused from chunk to chunk. */
  private his = new Uint32Array(512);
  private los = new Uint32Array(512);

  /**
   * For each text of a chunk, in order, into `out`: the row that had it first, or undefined when none did (the row is
   * then remembered for it). An empty text is undefined and not remembered. All the fingerprints first, then all the
   * look-ups: a loop of look-ups alone lets the processor wait for several of the tables' cache lines at once.
   */
  firstsOf(texts: readonly string[], rows: readonly { row: number }[], out: (number | undefined)[]): void {
    const n = texts.length;
    if (this.his.length < n) {
      this.his = new Uint32Array(n);
      this.los = new Uint32Array(n);
    }
    const { his, los } = this;
    for (let i = 0; i < n; i++) fingerprintInto(his, los, i, texts[i]!);
    this.touch(his, los, n);
    out.length = n;
    for (let i = 0; i < n; i++) out[i] = texts[i] === '' ? undefined : this.firstOrHashed(his[i]!, los[i]!, rows[i]!.row);
  }

  /**
   * Reads the first slot of each fingerprint's place, and nothing else: the reads do not depend on each other, so the
   * processor has many of them under way at once, and the look-ups after it find the slots in its cache.
   */
  private touch(his: Uint32Array, los: Uint32Array, n: number): void {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const slots = this.shards[his[i]! >>> 24]!;
      sum += slots[homeOf(slots, los[i]!) + 2]!;
    }
    this.touched = sum;
  }

  /** Where touch() puts what it read, so that the reads are not optimised away. */
  private touched = 0;

  private firstOrHashed(hi: number, lo: number, row: number): number | undefined {
    const s = hi >>> 24; // SHARDS = 2⁸
    const slots = this.shards[s]!;
    const i = slotOf(slots, hi, lo);
    if (slots[i + 2] !== 0) return slots[i + 2]! - 1;
    slots[i] = hi;
    slots[i + 1] = lo;
    slots[i + 2] = row + 1;
    if (++this.counts[s]! > (slots.length / W) * MAX_LOAD) this.shards[s] = grown(slots);
    return undefined;
  }
}

/**
 * The text's fingerprint into his[i] and los[i]. Both halves in one pass over the text: FNV-1a's steps, and the same
 * steps with MurmurHash2's multiplier and another seed; each then mixed (MurmurHash3's finaliser) so that every bit of
 * the text moves the shard and slot.
 */
function fingerprintInto(his: Uint32Array, los: Uint32Array, i: number, text: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  his[i] = mix(a);
  los[i] = mix(b ^ text.length);
}

/** MurmurHash3's 32-bit finaliser: an unsigned 32-bit value whose every bit depends on every bit of `h`. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The first slot a fingerprint may be in: `lo` scaled to the slot count (exact in doubles: both factors are below 2³²·2²¹). */
function homeOf(slots: Uint32Array, lo: number): number {
  return Math.floor((lo * (slots.length / W)) / 0x1_0000_0000) * W;
}

/** The index of the slot holding this fingerprint, or of the free slot where it goes (linear probing). */
function slotOf(slots: Uint32Array, hi: number, lo: number): number {
  let i = homeOf(slots, lo);
  while (slots[i + 2] !== 0 && (slots[i] !== hi || slots[i + 1] !== lo)) {
    i += W;
    if (i === slots.length) i = 0;
  }
  return i;
}

/** The shard's values in a table half as large again. */
function grown(old: Uint32Array): Uint32Array {
  const slots = new Uint32Array(Math.ceil((old.length / W) * 1.5) * W);
  for (let j = 0; j < old.length; j += W) {
    if (old[j + 2] === 0) continue;
    const i = slotOf(slots, old[j]!, old[j + 1]!);
    slots[i] = old[j]!;
    slots[i + 1] = old[j + 1]!;
    slots[i + 2] = old[j + 2]!;
  }
  return slots;
}
