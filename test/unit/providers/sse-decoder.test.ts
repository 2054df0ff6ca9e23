/**
 * The bytes-to-text step every SSE dialect shares (SseStreamDecoder): UTF-8 characters split between
 * chunks, a leading byte order mark (the SSE spec ignores one), bad bytes.
 */
import { describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../../src/answer/types.js';
import { OpenAIChatStreamDecoder } from '../../../src/providers/openai-chat/answers.js';

function contentOf(pieces: Buffer[]): string {
  const events: AnswerEvent[] = [];
  const decoder = new OpenAIChatStreamDecoder((event) => events.push(event), { maxEventBytes: 1 << 20 });
  for (const piece of pieces) decoder.write(piece);
  decoder.end();
  expect(events.some((event) => event.type === 'error')).toBe(false);
  return events.map((event) => (event.type === 'delta' ? (event.content ?? '') : '')).join('');
}

const event = (content: string) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

describe('SseStreamDecoder', () => {
  it('reads a character split between chunks at any byte, with or without a byte order mark', () => {
    for (const bom of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf])]) {
      const bytes = Buffer.concat([bom, Buffer.from(event('é😀 ü') + event('!') + 'data: [DONE]\n\n')]);
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(contentOf([bytes.subarray(0, cut), bytes.subarray(cut)])).toBe('é😀 ü!');
      }
      expect(contentOf([...bytes].map((byte) => Buffer.from([byte])))).toBe('é😀 ü!');
    }
  });

  it('a byte order mark is ignored only at the start', () => {
    expect(contentOf([Buffer.from(event('a') + event('\ufeffb'))])).toBe('a\ufeffb');
  });

  it('a bad byte in a text becomes U+FFFD, not an error', () => {
    const [before, after] = event('a#b').split('#');
    expect(contentOf([Buffer.concat([Buffer.from(before!), Buffer.from([0xff]), Buffer.from(after!)])])).toBe('a\ufffdb');
  });
});
