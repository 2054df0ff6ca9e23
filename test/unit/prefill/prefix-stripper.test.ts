import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixStripper, cannotHoldRepeat } from '../../../src/prefill/prefix-stripper.js';

/** Feeds `text` cut at the given positions and returns everything emitted. */
function feed(target: string, pieces: string[], options?: { skipLeadingWhitespace?: boolean }): string {
  const stripper = new PrefixStripper(target, options);
  let out = '';
  for (const piece of pieces) out += stripper.push(piece);
  return out + stripper.end();
}

function allSplits(text: string): string[][] {
  const splits: string[][] = [[text]];
  for (let i = 1; i < text.length; i++) splits.push([text.slice(0, i), text.slice(i)]);
  for (let i = 1; i < text.length - 1; i++) splits.push([text.slice(0, i), text.slice(i, i + 1), text.slice(i + 1)]);
  return splits;
}

describe('PrefixStripper', () => {
  const prefix = 'The capital of France is';

  it('removes an echoed prefix glued to the continuation, however the text is split', () => {
    for (const pieces of allSplits(`${prefix} Paris.`)) expect(feed(prefix, pieces)).toBe(' Paris.');
  });

  it('leaves a continuation that does not repeat the prefix untouched, however it is split', () => {
    for (const pieces of allSplits(' Paris, on the Seine.')) expect(feed(prefix, pieces)).toBe(' Paris, on the Seine.');
  });

  it('gives back held text when the answer only starts like the prefix', () => {
    expect(feed(prefix, ['The capital', ' city of Spain'])).toBe('The capital city of Spain');
    expect(feed(prefix, ['The cap'])).toBe('The cap');
  });

  it('strips only once', () => {
    expect(feed('ab', ['abab'])).toBe('ab');
    expect(feed('ab', ['ab', 'ab'])).toBe('ab');
  });

  it('holds back no more than the prefix length', () => {
    const stripper = new PrefixStripper('abc');
    expect(stripper.push('ab')).toBe('');
    expect(stripper.push('cde')).toBe('de');
    expect(stripper.settled).toBe(true);
    expect(stripper.push('fg')).toBe('fg');
  });

  it('with skipLeadingWhitespace tolerates whitespace around a repeat (emulated prefill)', () => {
    expect(feed('  Once upon', ['\n', 'Once upon a time'], { skipLeadingWhitespace: true })).toBe(' a time');
    expect(feed('Once upon', ['  ', 'there'], { skipLeadingWhitespace: true })).toBe('  there');
  });

  it('an empty target is a no-op', () => {
    expect(feed('', ['abc'])).toBe('abc');
  });

  // With skipLeadingWhitespace, whitespace skipped in the same piece as the character that ends the
  // match is given back once (it used to be given back twice: an emulated " a time" became "  a time").
  it('with skipLeadingWhitespace, whitespace then a mismatch in one piece is given back once', () => {
    expect(feed('Once upon', [' a time'], { skipLeadingWhitespace: true })).toBe(' a time');
  });

  it('... also after a partial match', () => {
    expect(feed('Once upon', ['\nOnce there'], { skipLeadingWhitespace: true })).toBe('\nOnce there');
  });

  it('... also when nothing of the target matched', () => {
    expect(feed('Zq', ['\na'], { skipLeadingWhitespace: true })).toBe('\na');
  });

  it('handles multi-byte characters and emoji', () => {
    expect(feed('Ça va 👋', ['Ça va 👋', ' très bien'])).toBe(' très bien');
  });
});

/**
 * cannotHoldRepeat decides on an answer's raw JSON bytes what PrefixStripper decides on its decoded
 * text: whenever it says the bytes cannot hold a repeat (so they go to the client untouched), the
 * stripper must indeed have nothing to remove. Changing one without the other fails here.
 */
describe('cannotHoldRepeat agrees with PrefixStripper', () => {
  const hex = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  /** The same JSON value as different, equally valid encoders write it. */
  const encoders: Record<string, (value: unknown) => string> = {
    'JSON.stringify': (value) => JSON.stringify(value),
    // PHP's json_encode and others escape every slash.
    'slashes escaped': (value) => JSON.stringify(value).replaceAll('/', '\\/'),
    // Python's json.dumps (ensure_ascii): everything outside ASCII as \uXXXX.
    'ASCII only': (value) => JSON.stringify(value).replace(/[\u0080-\uffff]/g, hex),
  };
  const answerBytes = (encode: (value: unknown) => string, text: string) => {
    const value = { choices: [{ message: { content: text } }] };
    const json = encode(value);
    // The encoder is a valid one: the bytes read back as the same answer.
    expect(JSON.parse(json)).toEqual(value);
    return Buffer.from(json);
  };

  /** Characters JSON encoders treat specially (quotes, backslashes, slashes, whitespace, non-ASCII) among plain ones. */
  const char = fc.constantFrom('a', 'b', 'x', 'T', '1', '.', ' ', ' ', '\n', '\t', '\r', '/', '"', '\\', "'", '<', '&', 'é', 'ß', '👋', '\u00a0', '\u2028');
  const plain = fc.constantFrom('a', 'b', 'x', 'T', '1', '.', ' ', "'", '-');
  const whitespace = fc.string({ unit: fc.constantFrom(' ', '\n', '\t', '\r'), maxLength: 3 });
  const target = fc.oneof(
    // Printable ASCII without quotes, backslashes or slashes: the targets cannotHoldRepeat decides on.
    fc.tuple(whitespace, fc.string({ unit: plain, minLength: 1, maxLength: 8 })).map(([lead, body]) => lead + body),
    fc.tuple(whitespace, fc.string({ unit: char, maxLength: 8 })).map(([lead, body]) => lead + body),
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'grapheme', maxLength: 4 }),
  );
  const swapCase = (text: string) => [...text].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
  const tail = fc.string({ unit: char, maxLength: 6 });
  /** Answer texts that hold the target, its trimmed form, part of it, or none of it, at the start or later. */
  const textFor = (t: string) =>
    fc.oneof(
      tail,
      fc.string({ maxLength: 10 }),
      tail.map((rest) => t + rest),
      fc.tuple(whitespace, tail).map(([lead, rest]) => lead + t + rest),
      tail.map((rest) => t.trimStart() + rest),
      fc.tuple(whitespace, tail).map(([lead, rest]) => lead + t.trimStart() + rest),
      fc.tuple(fc.nat(t.length), tail).map(([cut, rest]) => t.slice(0, cut) + rest),
      fc.tuple(fc.nat(t.length), tail).map(([cut, rest]) => t.trimStart().slice(0, cut) + rest),
      fc.tuple(tail, tail).map(([before, after]) => before + t + after),
      // A near miss: the target in the other case.
      tail.map((rest) => swapCase(t.trimStart()) + rest),
    );
  const cases = target.chain((t) => fc.tuple(fc.constant(t), textFor(t), fc.boolean()));

  for (const [name, encode] of Object.entries(encoders)) {
    it(`whenever the raw answer cannot hold a repeat, the stripper leaves the text as it is (${name})`, () => {
      let decided = 0;
      let stripped = 0;
      fc.assert(
        fc.property(cases, ([t, text, skipLeadingWhitespace]) => {
          const options = { skipLeadingWhitespace };
          const result = PrefixStripper.strip(t, text, options);
          if (result !== text) stripped++;
          if (cannotHoldRepeat(answerBytes(encode, text), t, options)) {
            decided++;
            expect(result).toBe(text);
          }
        }),
        { numRuns: 5000, seed: 20260917 },
      );
      // Both sides were exercised: answers passed untouched, and answers the stripper changes.
      expect(decided).toBeGreaterThan(500);
      expect(stripped).toBeGreaterThan(500);
    });
  }

  it('the examples that matter, both ways', () => {
    const bytes = (text: string) => answerBytes(encoders['JSON.stringify']!, text);
    // Emulated prefill: the model repeats the prefix without its leading whitespace.
    expect(cannotHoldRepeat(bytes('Once upon a time'), '  Once upon', { skipLeadingWhitespace: true })).toBe(false);
    expect(PrefixStripper.strip('  Once upon', 'Once upon a time', { skipLeadingWhitespace: true })).toBe(' a time');
    expect(cannotHoldRepeat(bytes('There was a fox'), '  Once upon', { skipLeadingWhitespace: true })).toBe(true);
    // A target some encoders write differently is never decided on the bytes.
    expect(cannotHoldRepeat(Buffer.from('{"choices":[{"message":{"content":"a\\/b c"}}]}'), 'a/b')).toBe(false);
    expect(cannotHoldRepeat(bytes('x'), 'say "hi"')).toBe(false);
    expect(cannotHoldRepeat(bytes('x'), 'Ça va')).toBe(false);
    expect(cannotHoldRepeat(bytes('x'), '   ', { skipLeadingWhitespace: true })).toBe(false);
  });

  // JSON allows any character as \\uXXXX, and Go's encoding/json writes <, > and & that way: a target
  // holding one of them is never decided on the bytes.
  const goEncode = (value: unknown) => JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, hex);
  const html = '<div>\n  <p>Hi</p>\n</div>';

  it('an answer that repeats an HTML prefix, as Go writes it, is stripped by the stripper', () => {
    const raw = answerBytes(goEncode, html);
    expect(raw.toString()).toContain('\\u003cdiv\\u003e');
    expect(PrefixStripper.strip('<div>', html, { skipLeadingWhitespace: true })).toBe('\n  <p>Hi</p>\n</div>');
  });

  it('cannotHoldRepeat does not decide such a target on the bytes', () => {
    expect(cannotHoldRepeat(answerBytes(goEncode, html), '<div>', { skipLeadingWhitespace: true })).toBe(false);
  });
});
