import { describe, expect, it } from 'vitest';
import { ChatRequest } from '../../../src/chat/schema.js';
import { ProxyError } from '../../../src/errors.js';
import { detectPrefill, parsePrefillMode, type PrefillMode } from '../../../src/prefill/detect.js';

const user = { role: 'user', content: 'Write a haiku.' };
const request = (last: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ChatRequest.parse({ model: 'm', messages: [user, last], ...extra });

describe('detectPrefill: the table of DESIGN.md §1', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, Record<PrefillMode, boolean>]> = [
    ['prefix: true', { role: 'assistant', content: 'Autumn', prefix: true }, {}, { auto: true, explicit: true, off: false }],
    ['partial: true', { role: 'assistant', content: 'Autumn', partial: true }, {}, { auto: true, explicit: true, off: false }],
    ['bare trailing assistant', { role: 'assistant', content: 'Autumn' }, {}, { auto: true, explicit: false, off: false }],
    ['prefix: false', { role: 'assistant', content: 'Autumn', prefix: false }, {}, { auto: false, explicit: false, off: false }],
    [
      'assistant with tool_calls',
      { role: 'assistant', content: 'Autumn', prefix: true, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      {},
      { auto: false, explicit: false, off: false },
    ],
    ['empty content, no reasoning', { role: 'assistant', content: '' }, {}, { auto: false, explicit: false, off: false }],
    ['null content with prefix flag', { role: 'assistant', content: null, prefix: true }, {}, { auto: false, explicit: false, off: false }],
    ['empty content with reasoning', { role: 'assistant', content: '', reasoning_content: 'Let me think' , prefix: true }, {}, { auto: true, explicit: true, off: false }],
    ['continue_final_message: true', { role: 'assistant', content: 'Autumn' }, { continue_final_message: true }, { auto: true, explicit: true, off: false }],
    ['continue_final_message with prefix: false', { role: 'assistant', content: 'Autumn', prefix: false }, { continue_final_message: true }, { auto: false, explicit: false, off: false }],
    ['last message from the user', user, {}, { auto: false, explicit: false, off: false }],
  ];
  for (const [name, last, extra, expected] of cases) {
    for (const mode of ['auto', 'explicit', 'off'] as const) {
      it(`${name} in mode ${mode} → ${expected[mode] ? 'prefill' : 'not a prefill'}`, () => {
        expect(detectPrefill(request(last, extra), mode) !== undefined).toBe(expected[mode]);
      });
    }
  }

  it('joins text parts with nothing between them', () => {
    const prefill = detectPrefill(
      request({ role: 'assistant', content: [{ type: 'text', text: 'Autumn ' }, { type: 'text', text: 'moonlight' }] }),
      'auto',
    );
    expect(prefill?.prefix).toBe('Autumn moonlight');
  });

  it('refuses a non-text part in the prefilled message, naming it', () => {
    const bad = request({ role: 'assistant', content: [{ type: 'image_url', image_url: { url: 'x' } }], prefix: true });
    try {
      detectPrefill(bad, 'auto');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProxyError);
      expect((err as ProxyError).status).toBe(400);
      expect((err as ProxyError).param).toBe('messages[1].content[0]');
    }
  });

  it('only the last message counts: earlier assistant messages are history', () => {
    const chat = ChatRequest.parse({
      messages: [user, { role: 'assistant', content: 'Earlier', prefix: true }, { role: 'user', content: 'Again' }],
    });
    expect(detectPrefill(chat, 'auto')).toBeUndefined();
  });

  it('reports why it is a prefill and keeps the reasoning prefix', () => {
    expect(detectPrefill(request({ role: 'assistant', content: 'A', prefix: true }), 'auto')?.trigger).toBe('prefix');
    expect(detectPrefill(request({ role: 'assistant', content: 'A' }), 'auto')).toMatchObject({ trigger: 'trailing_assistant', index: 1 });
    expect(detectPrefill(request({ role: 'assistant', content: '', reasoning_content: 'hmm', prefix: true }), 'auto')?.reasoning).toBe('hmm');
  });
});

describe('detectPrefill: reasoning prefixes', () => {
  it('a reasoning prefix with no content continues the thinking; with content, the answer', () => {
    expect(detectPrefill(ChatRequest.parse({ messages: [{ role: 'assistant', content: '', reasoning_content: 'I need to find' }] }), 'auto')?.continues).toBe('reasoning');
    expect(detectPrefill(ChatRequest.parse({ messages: [{ role: 'assistant', content: 'The capital', reasoning_content: 'Paris.' }] }), 'auto')?.continues).toBe('content');
  });
});

describe('parsePrefillMode', () => {
  it('accepts the three modes, case-insensitively', () => {
    expect(parsePrefillMode('Explicit', 'x-prefill-mode')).toBe('explicit');
    expect(parsePrefillMode(' off ', 'x-prefill-mode')).toBe('off');
  });
  it('rejects anything else with a 400 naming the parameter', () => {
    expect(() => parsePrefillMode('sometimes', 'x-prefill-mode')).toThrowError(/Invalid prefill mode "sometimes"/);
    try {
      parsePrefillMode('yes', 'x-prefill-mode');
    } catch (err) {
      expect((err as ProxyError).param).toBe('x-prefill-mode');
      expect((err as ProxyError).status).toBe(400);
    }
  });
});
