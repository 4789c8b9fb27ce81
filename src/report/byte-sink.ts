/**
 * Text written into one reused byte buffer, then to a file descriptor (or a stream) a buffer at a time.
 *
 * Why not strings: a report line is made of a dozen small pieces (its head, the fingerprint, the input's text), and
 * joining a few hundred such lines into one string to write it made V8 flatten every piece again — measured at
 * ~2.5 µs a line, more than building the lines. Each piece is encoded straight into the buffer instead (one native
 * call, no string made): ~3× cheaper for a dry run's plan (docs/performance.md, issue 16 §2).
 */
import * as fs from 'node:fs';

/** Room for the pieces of many lines; a piece that does not fit after a flush is written on its own. */
const SIZE = 1 << 18;

/** Buffer's own UTF-8 encoder, without the argument checks of write() (a few calls per line, a million lines). */
type Utf8Writer = Buffer & { utf8Write(text: string, offset: number, length: number): number };

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

export class ByteSink {
  private buf = Buffer.allocUnsafe(SIZE) as Utf8Writer;
  private used = 0;

  /** `fd`: written with writeSync (the buffer is reused); otherwise `stream` gets each buffer (a new one follows). */
  constructor(
    private readonly fd: number | null,
    private readonly stream: NodeJS.WritableStream | null,
  ) {}

  /** Bytes held, not written yet. */
  get size(): number {
    return this.used;
  }

  /**
   * Bytes made once (a key with its quotes, a status). A short piece is copied by hand, cheaper than a call into
   * native code; a longer one (from 16 bytes: a line's whole middle) by set(), ~3× cheaper than the loop at 50 bytes.
   */
  putBytes(bytes: Uint8Array): void {
    if (this.used + bytes.length > SIZE) this.flush();
    const buf = this.buf;
    if (bytes.length >= 16) {
      buf.set(bytes, this.used);
      this.used += bytes.length;
      return;
    }
    let at = this.used;
    for (let i = 0; i < bytes.length; i++) buf[at++] = bytes[i]!;
    this.used = at;
  }

  /** A non-negative integer's decimal digits, without making its string. */
  putUint(n: number): void {
    if (n >= 1e15 || n < 0 || !Number.isInteger(n)) {
      this.put(String(n));
      return;
    }
    if (this.used + 16 > SIZE) this.flush();
    const buf = this.buf;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let at = this.used + digits;
    this.used = at;
    do {
      buf[--at] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** A 32-bit number as 8 lower-case hex digits (a fingerprint), without making its string. */
  putHex32(h: number): void {
    if (this.used + 8 > SIZE) this.flush();
    const buf = this.buf;
    for (let shift = 28; shift >= 0; shift -= 4) buf[this.used++] = HEX_DIGITS[(h >>> shift) & 15]!;
  }

  put(text: string): void {
    // At most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
    if (this.used + 3 * text.length > SIZE) {
      this.flush();
      if (3 * text.length > SIZE) {
        this.write(Buffer.from(text, 'utf8'));
        return;
      }
    }
    this.used += this.buf.utf8Write(text, this.used, SIZE - this.used);
  }

  /** Writes what is held. */
  flush(): void {
    if (this.used === 0) return;
    if (this.fd !== null) {
      this.write(this.buf.subarray(0, this.used));
    } else {
      // The stream keeps the buffer until it has written it: it gets this one, the sink takes a new one.
      this.stream!.write(this.buf.subarray(0, this.used));
      this.buf = Buffer.allocUnsafe(SIZE) as Utf8Writer;
    }
    this.used = 0;
  }

  private write(bytes: Buffer): void {
    if (this.fd === null) {
      this.stream!.write(bytes);
      return;
    }
    for (let at = 0; at < bytes.length; ) at += fs.writeSync(this.fd, bytes, at, bytes.length - at);
  }
}
