import { Writable } from 'node:stream';

export type Sink = Writable & { text: () => string; isTTY?: boolean; columns?: number };

/** A stream that records what is written; a fake terminal of `columns` width when `tty` is set. */
export function sink(tty: boolean, columns = 120): Sink {
  let buf = '';
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      buf += chunk.toString();
      cb();
    },
  }) as Sink;
  w.text = () => buf;
  if (tty) {
    w.isTTY = true;
    w.columns = columns;
  }
  return w;
}
