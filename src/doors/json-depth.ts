import { jsonStringEnd } from '../json/string-end.js';

/**
 * Whether JSON text nests arrays and objects deeper than `limit`, read from its bytes (brackets inside
 * strings do not count). Checked at the door on every JSON body: a body may go upstream as the client's
 * own bytes (with a provider's fields added), so a bound that re-serializing once gave by accident
 * (JSON.stringify runs out of stack) must hold without it. One pass, no allocation; strings (most of a
 * chat request) are skipped with the native byte search, so it costs a fraction of JSON.parse.
 */
export function nestedDeeperThan(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x22) {
      i = jsonStringEnd(bytes, i);
      if (i === -1) return false; // unterminated: JSON.parse says what is wrong
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > limit) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
}
