import { describe, expect, it } from 'vitest';
import { nestedDeeperThan } from '../../../src/doors/json-depth.js';

const nested = (depth: number) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('nestedDeeperThan', () => {
  it('counts arrays and objects, up to the limit and one past it', () => {
    expect(nestedDeeperThan(nested(256), 256)).toBe(false);
    expect(nestedDeeperThan(nested(257), 256)).toBe(true);
    expect(nestedDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(nestedDeeperThan(Buffer.from('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = `{"content":"${'[{'.repeat(500)} \\" ${'[{'.repeat(500)} \\\\"}`;
    expect(nestedDeeperThan(Buffer.from(text), 2)).toBe(false);
    // After a string that ends in an escaped backslash, brackets count again.
    expect(nestedDeeperThan(Buffer.from(`{"a":"x\\\\","b":[[[]]]}`), 3)).toBe(true);
  });

  it('an unterminated string ends the scan (JSON.parse names the error), runs of backslashes count by parity', () => {
    expect(nestedDeeperThan(Buffer.from('{"a":"[[[[[['), 2)).toBe(false);
    expect(nestedDeeperThan(Buffer.from('{"a":"\\\\\\"[[[[","b":1}'), 2)).toBe(false);
    expect(nestedDeeperThan(Buffer.from('{"a":"\\\\\\\\","b":[[[]]]}'), 3)).toBe(true);
  });

  it('siblings do not add up', () => {
    expect(nestedDeeperThan(Buffer.from(`[${'[],'.repeat(1000)}[]]`), 2)).toBe(false);
  });
});
