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

  it('agrees with the spec read line by line, on random streams cut at random (LF, CR, CRLF mixed)', () => {
    // The reference: the whole text split into lines at once, events dispatched at blank lines.
    const reference = (text: string): SseEvent[] => {
      const events: SseEvent[] = [];
      let data: string[] = [];
      let name: string | undefined;
      const lines = text.split(/\r\n|\r|\n/);
      lines.pop(); // after the last line end: an unterminated line, dropped at the end
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) events.push({ event: name, data: data.join('\n') });
          data = [];
          name = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') name = value;
      }
      return events;
    };
    // mulberry32: seeded, so a failure can be replayed.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
    };
    const ends = ['\n', '\r', '\r\n'];
    const lines = ['data: {"a":"b c"}', 'data:x', 'event: e', ': ping', 'data', 'id: 1', 'data: é ü 😀', ''];
    for (let round = 0; round < 300; round++) {
      let text = '';
      for (let k = random(12) + 1; k > 0; k--) text += lines[random(lines.length)]! + ends[random(3)]!;
      const cuts = [...new Set(Array.from({ length: random(5) }, () => random(text.length + 1)))].sort((a, b) => a - b);
      const pieces: string[] = [];
      let from = 0;
      for (const cut of cuts) {
        pieces.push(text.slice(from, cut));
        from = cut;
      }
      pieces.push(text.slice(from));
      expect(parse(pieces), JSON.stringify(pieces)).toEqual(reference(text));
    }
  });
});
