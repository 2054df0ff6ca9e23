/** Strings up to this long are read byte by byte; the rest of a longer one with the native search. */
const SHORT_STRING = 48;

/**
 * The index of the quote that closes the JSON string opened at `open`, or -1 when it is not closed.
 * Short strings (keys, ids) are read in a plain loop, which costs less than a call into the native
 * byte search; the rest of a long one (a message's text: most of a chat body) is found with that
 * search, a quote counting as escaped when an odd number of backslashes stand before it.
 */
export function jsonStringEnd(bytes: Buffer, open: number): number {
  const stop = Math.min(bytes.length, open + 1 + SHORT_STRING);
  let i = open + 1;
  for (; i < stop; i++) {
    const byte = bytes[i];
    if (byte === 0x22) return i;
    if (byte === 0x5c) i++;
  }
  let quote = bytes.indexOf(0x22, i);
  while (quote !== -1) {
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote;
    quote = bytes.indexOf(0x22, quote + 1);
  }
  return -1;
}
