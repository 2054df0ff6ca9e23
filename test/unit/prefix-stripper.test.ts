import { describe, expect, it } from 'vitest';
import { PrefixStripper } from '../../src/prefill/prefix-stripper.js';

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

  it('handles multi-byte characters and emoji', () => {
    expect(feed('Ça va 👋', ['Ça va 👋', ' très bien'])).toBe(' très bien');
  });
});
