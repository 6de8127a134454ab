/**
 * A copy of `b[start, end)` as a plain Uint8Array. (`Buffer#slice` returns a view, so `.slice()`
 * on caller input is not a copy when the caller passes a Buffer.)
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return new Uint8Array(b.subarray(start, end));
}
