/**
 * A null-prototype object, like Object.create(null) (so `__proto__` and `toString` are plain keys, never the
 * prototype's), but in V8's fast-properties mode: Object.create(null) makes a hash-table object, several
 * times slower to fill and to read, and the input rows and payloads are made and read for every row.
 */
export function nullObject<T = unknown>(): Record<string, T> {
  return Object.setPrototypeOf({}, null) as Record<string, T>;
}
