/**
 * How each dialect tells that a passed-through stream chunk ends the stream (its terminator). These
 * run on every chunk of a stream the proxy does not rewrite, so they look in place; this holds their
 * answers on the edges: CRLF framing, trailing blank lines, a terminator earlier in the chunk than the
 * last event, a chunk shorter than the terminator.
 */
import { describe, expect, it } from 'vitest';
import { anthropicAnswers } from '../../../src/providers/anthropic/answers.js';
import { geminiAnswers } from '../../../src/providers/gemini/answers.js';
import { completionAnswers } from '../../../src/providers/llamacpp/completion.js';
import { openAIChatAnswers } from '../../../src/providers/openai-chat/answers.js';

const ends = (decoder: { endsWithTerminator(bytes: Buffer): boolean }, text: string) => decoder.endsWithTerminator(Buffer.from(text));

describe('stream terminators, looked for in place', () => {
  it('OpenAI Chat Completions: data: [DONE] as the last event, LF or CRLF', () => {
    expect(ends(openAIChatAnswers, 'data: {"choices":[]}\n\ndata: [DONE]\n\n')).toBe(true);
    expect(ends(openAIChatAnswers, 'data: {"choices":[]}\r\n\r\ndata: [DONE]\r\n\r\n')).toBe(true);
    expect(ends(openAIChatAnswers, 'data: [DONE]\n\n')).toBe(true);
    expect(ends(openAIChatAnswers, 'data: [DONE]\r\n\n')).toBe(true);
    expect(ends(openAIChatAnswers, 'data: [DONE]\n\r\n')).toBe(true);
    expect(ends(openAIChatAnswers, 'data: [DONE]\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'data: [DONE]\n\n\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'data: [DONE] \n\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'xdata: [DONE]\n\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'ata: [DONE]\n\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'data: [DONE]\n\ndata: {"choices":[]}\n\n')).toBe(false);
    expect(ends(openAIChatAnswers, 'NE]\n\n')).toBe(false);
    expect(ends(openAIChatAnswers, '')).toBe(false);
  });

  it('Gemini: the last event names a finishReason (trailing blank lines and CRLF allowed)', () => {
    const event = (body: object) => `data: ${JSON.stringify(body)}`;
    const last = event({ candidates: [{ content: { parts: [{ text: '.' }] }, finishReason: 'STOP' }] });
    const middle = event({ candidates: [{ content: { parts: [{ text: 'a' }] } }] });
    expect(ends(geminiAnswers, `${middle}\n\n${last}\n\n`)).toBe(true);
    expect(ends(geminiAnswers, `${middle}\r\n\r\n${last}\r\n\r\n  `)).toBe(true);
    expect(ends(geminiAnswers, `${last}\n\n`)).toBe(true);
    expect(ends(geminiAnswers, `${last}\n\n${middle}\n\n`)).toBe(false);
    expect(ends(geminiAnswers, `${middle}\n\n`)).toBe(false);
    expect(ends(geminiAnswers, '\n\n')).toBe(false);
  });

  it('Anthropic: message_stop near the end', () => {
    expect(ends(anthropicAnswers, 'event: message_delta\ndata: {}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    expect(ends(anthropicAnswers, 'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n')).toBe(false);
  });

  it('llama.cpp /completion: the last event carries "stop":true', () => {
    expect(ends(completionAnswers, 'data: {"content":"a","stop":false}\n\ndata: {"content":"","stop":true,"generation_settings":{}}\n\n')).toBe(true);
    expect(ends(completionAnswers, 'data: {"content":"","stop":true}\n\ndata: {"content":"a","stop":false}\n\n')).toBe(false);
  });
});
