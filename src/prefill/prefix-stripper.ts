/**
 * Removes a repeated prefix from the start of generated text, fed piece by piece.
 *
 * Some upstreams repeat the prefilled text before the continuation (Mistral always, some llama.cpp
 * builds sometimes, a model told to "continue" now and then). The repeat may arrive whole, split over
 * several stream deltas, or glued to the first generated characters. The stripper holds back text only
 * while it can still be the prefix, so memory and work are bounded by the prefix length and each
 * character is compared once: no re-scan of a growing buffer.
 */
export class PrefixStripper {
  private readonly target: string;
  private readonly skipLeadingWhitespace: boolean;
  /** Characters of `target` matched so far. */
  private matched = 0;
  /** Leading whitespace skipped before the match started (given back if it is not a repeat). */
  private lead = '';
  private done: boolean;

  /**
   * @param target the text the upstream may repeat
   * @param options.skipLeadingWhitespace tolerate whitespace before the repeat (for emulated prefill,
   *   where the model writes the repeat itself)
   */
  constructor(target: string, options: { skipLeadingWhitespace?: boolean } = {}) {
    this.skipLeadingWhitespace = options.skipLeadingWhitespace ?? false;
    this.target = this.skipLeadingWhitespace ? target.trimStart() : target;
    this.done = this.target.length === 0;
  }

  /** True once the stripper has decided; from then on text passes through unchanged. */
  get settled(): boolean {
    return this.done;
  }

  /** Feeds the next piece; returns what may be emitted now (possibly empty). */
  push(text: string): string {
    if (this.done || text.length === 0) return text;
    let start = 0;
    if (this.matched === 0 && this.skipLeadingWhitespace) {
      while (start < text.length && isWhitespace(text.charCodeAt(start))) start++;
      this.lead += text.slice(0, start);
      if (start === text.length) return '';
    }
    const target = this.target;
    let i = start;
    let j = this.matched;
    while (i < text.length && j < target.length) {
      if (text.charCodeAt(i) !== target.charCodeAt(j)) {
        // Not a repeat: give back everything held, then this piece (its leading whitespace, if any, is
        // already among what was held).
        this.done = true;
        const held = this.lead + target.slice(0, this.matched);
        this.lead = '';
        return held + text.slice(start);
      }
      i++;
      j++;
    }
    this.matched = j;
    if (j === target.length) {
      this.done = true;
      this.lead = '';
      return text.slice(i);
    }
    return '';
  }

  /** The text ended: anything still held was a coincidental start, not a full repeat. */
  end(): string {
    if (this.done) return '';
    this.done = true;
    const held = this.lead + this.target.slice(0, this.matched);
    this.lead = '';
    return held;
  }

  /** Convenience for a whole (non-streamed) text. */
  static strip(target: string, text: string, options?: { skipLeadingWhitespace?: boolean }): string {
    const stripper = new PrefixStripper(target, options);
    return stripper.push(text) + stripper.end();
  }
}

function isWhitespace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

/**
 * True when an answer's raw JSON bytes cannot contain a repeat of `target` that PrefixStripper would
 * remove, so the bytes may go to the client untouched. This re-encodes the stripper's rule on bytes:
 * it is decided only for targets whose JSON form is unambiguous (printable ASCII without the
 * characters JSON encoders may escape: quotes, backslashes, slashes, and `<`, `>`, `&`, `'`, which Go
 * and others write as `\uXXXX`), so no escaping variant can hide a repeat; and with
 * `skipLeadingWhitespace` the stripper looks for the target without its leading whitespace. A test
 * holds the two together (test/unit/prefill/prefix-stripper.test.ts).
 */
export function cannotHoldRepeat(raw: Buffer, target: string, options: { skipLeadingWhitespace?: boolean } = {}): boolean {
  const needle = options.skipLeadingWhitespace ? target.trimStart() : target;
  if (needle.length === 0 || !/^[\x20-\x7e]+$/.test(needle) || /["\\/<>&']/.test(needle)) return false;
  return !raw.includes(needle);
}
