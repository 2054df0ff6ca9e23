import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../../src/sse/parser.js';

function parse(pieces: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const piece of pieces) parser.push(piece);
  parser.end();
  return events;
}

describe('SseParser', () => {
  it('parses LF-framed data events', () => {
    expect(parse(['data: {"a":1}\n\ndata: [DONE]\n\n'])).toEqual([
      { event: undefined, data: '{"a":1}' },
      { event: undefined, data: '[DONE]' },
    ]);
  });

  it('parses CRLF and bare CR line endings, including a CRLF split across chunks', () => {
    expect(parse(['data: one\r', '\n\r', '\ndata: two\r\rdata: three\r\n\r\n'])).toEqual([
      { event: undefined, data: 'one' },
      { event: undefined, data: 'two' },
      { event: undefined, data: 'three' },
    ]);
  });

  it('skips comments (OpenRouter keep-alives) and unknown fields', () => {
    expect(parse([': OPENROUTER PROCESSING\n\nid: 7\nretry: 100\ndata: x\n\n'])).toEqual([{ event: undefined, data: 'x' }]);
  });

  it('joins multi-line data with LF and keeps the event name', () => {
    expect(parse(['event: message_delta\ndata: line 1\ndata: line 2\n\n'])).toEqual([{ event: 'message_delta', data: 'line 1\nline 2' }]);
  });

  it('handles "data:" without a space and a field with no colon', () => {
    expect(parse(['data:tight\n\ndata\n\n'])).toEqual([
      { event: undefined, data: 'tight' },
      { event: undefined, data: '' },
    ]);
  });

  it('gives the same events however the stream is cut', () => {
    const text = 'event: a\r\ndata: {"x":"y z"}\r\n\r\n: ping\n\ndata: [DONE]\n\n';
    const whole = parse([text]);
    for (let i = 1; i < text.length; i++) expect(parse([text.slice(0, i), text.slice(i)])).toEqual(whole);
    expect(parse([...text])).toEqual(whole);
  });

  it('drops an unterminated event at the end, as the spec says', () => {
    expect(parse(['data: complete\n\ndata: cut off'])).toEqual([{ event: undefined, data: 'complete' }]);
  });
});
