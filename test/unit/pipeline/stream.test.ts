import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { streamThrough } from '../../helpers/pipeline.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/${name}`, import.meta.url));

const prefix = 'The capital of France is';
const strip: AnswerPlan = { kind: 'native', prefix, echo: false, repeated: { text: prefix, skipLeadingWhitespace: false } };

describe('the stream path over recorded llama.cpp streams', () => {
  it('removes the prefix a September 2026 build glues to the first delta, at every cut', async () => {
    const bytes = fixture('llamacpp/stream-2026-09-echo.sse');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const result = await streamThrough('llamacpp', strip, bytes, { pieceSize: size });
      expect(result.content).toBe(' Paris, a city on the Seine.');
      expect(result.done).toBe(true);
      expect(result.usage).toMatchObject({ completion_tokens: 9 });
    }
  });

  it('usage on llama.cpp\'s finish chunk, after the stream passes untouched, becomes the door\'s own final chunk (asked for or not)', async () => {
    // Recorded from the real b5640 server: its finish chunk carries usage and timings.
    const bytes = fixture('llamacpp/real/b5640/content-prefill.stream-usage.sse');
    const once: AnswerPlan = { kind: 'native', prefix: 'Once upon a time', echo: false, repeated: { text: 'Once upon a time', skipLeadingWhitespace: false } };
    for (const size of [1, 7, 64, bytes.length]) {
      for (const includeUsage of [true, false]) {
        const result = await streamThrough('llamacpp', once, bytes, { pieceSize: size, includeUsage });
        expect(result.done).toBe(true);
        const withUsage = result.events.filter((data) => data.includes('"usage"'));
        if (!includeUsage) {
          expect(withUsage).toEqual([]);
          continue;
        }
        expect(withUsage).toHaveLength(1);
        expect(result.events.at(-2)).toBe(withUsage[0]);
        expect(JSON.parse(withUsage[0]!)).toMatchObject({ choices: [], usage: { completion_tokens: 24, prompt_tokens: 56, total_tokens: 80 } });
      }
    }
  });

  it('the same answer when the client\'s sink comes only after the whole upstream stream arrived (held, then sent)', async () => {
    const bytes = fixture('llamacpp/stream-2026-09-echo.sse');
    for (const size of [1, 64, bytes.length]) {
      const late = await streamThrough('llamacpp', strip, bytes, { pieceSize: size, startAfterMs: 30 });
      expect(late.content).toBe(' Paris, a city on the Seine.');
      expect(late.done).toBe(true);
      expect(late.text).toBe((await streamThrough('llamacpp', strip, bytes, { pieceSize: size })).text);
    }
  });

  it('leaves a 2025 build (continuation only) as it is', async () => {
    const bytes = fixture('llamacpp/stream-2025.sse');
    for (const size of [1, 5, bytes.length]) expect((await streamThrough('llamacpp', strip, bytes, { pieceSize: size })).content).toBe(' Paris, a city on the Seine.');
  });

  it('gives prefix + continuation with echo, whatever the build', async () => {
    const echo = { ...strip, echo: true };
    for (const name of ['llamacpp/stream-2026-09-echo.sse', 'llamacpp/stream-2025.sse']) {
      expect((await streamThrough('llamacpp', echo, fixture(name), { pieceSize: 3 })).content).toBe('The capital of France is Paris, a city on the Seine.');
    }
  });

  it('puts the echoed prefix in the first event (the role event), before any generated text', async () => {
    const result = await streamThrough('llamacpp', { ...strip, echo: true }, fixture('llamacpp/stream-2025.sse'));
    const first = JSON.parse(result.events[0]!) as { choices: Array<{ delta: { role?: string; content?: string } }> };
    expect(first.choices[0]!.delta).toEqual({ role: 'assistant', content: prefix });
  });
});

describe('the stream path once every choice is settled', () => {
  const settled = 'data: {"choices":[{"index":0,"delta":{"content":"The capital of France is Paris"}}]}\n\n';
  /** An event the decoder refuses (a JSON value that is not an object): it reaches the client only if nothing parses it. */
  const unparsable = 'data: 42\n\n';
  const isError = (data: string) => data.startsWith('{"error"');

  it('passes the rest of the stream byte for byte, without parsing it', async () => {
    const later = unparsable + 'data: {"choices": [{"index": 0, "delta": {"content": " and more"}}]}\n\n' + ': comment\n\ndata: [DONE]\n\n';
    // Cut right after the event that settles the prefix (the switch happens at an event boundary), byte
    // by byte, or all in one chunk (the switch then happens inside it).
    for (const size of [settled.length, 1, settled.length + later.length]) {
      const result = await streamThrough('llamacpp', strip, Buffer.from(settled + later), { pieceSize: size });
      const head = result.text.slice(0, result.text.length - later.length);
      expect(head).toContain('"content":" Paris"');
      expect(result.text.slice(head.length)).toBe(later);
      expect(result.events.some(isError)).toBe(false);
      expect(result.events).toContain('42');
      expect(result.content).toBe(' Paris and more');
      expect(result.done).toBe(true);
    }
  });

  it('keeps parsing while a choice may still hold a repeat, or when several choices were asked for', async () => {
    const undecided = 'data: {"choices":[{"index":0,"delta":{"content":"The capital"}}]}\n\n';
    const held = await streamThrough('llamacpp', strip, Buffer.from(undecided + unparsable + 'data: [DONE]\n\n'), { pieceSize: undecided.length });
    expect(held.events).not.toContain('42');
    expect(held.done).toBe(false);
    expect(JSON.parse(held.events.at(-1)!)).toMatchObject({ error: { code: 'upstream_invalid_response' } });
    // What was held as a possible repeat is given back before the error.
    expect(held.content).toBe('The capital');

    const hello = 'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n';
    const rest = unparsable + 'data: {"choices":[{"index":1,"delta":{"content":"The"}}]}\n\ndata: [DONE]\n\n';
    const many = await streamThrough('llamacpp', { ...strip, manyChoices: true }, Buffer.from(hello + rest), { pieceSize: hello.length });
    expect(many.events).not.toContain('42');
    expect(many.done).toBe(false);
    expect(JSON.parse(many.events.at(-1)!)).toMatchObject({ error: { code: 'upstream_invalid_response' } });
    // The same bytes with one choice asked for: choice 0 is settled after "Hello", and the rest passes untouched.
    const one = await streamThrough('llamacpp', strip, Buffer.from(hello + rest), { pieceSize: hello.length });
    expect(one.text.endsWith(rest)).toBe(true);
    expect(one.events.some(isError)).toBe(false);
  });
});

describe('the stream path over a recorded vLLM stream', () => {
  it('passes usage-only chunks and [DONE] through, and adds echo', async () => {
    const bytes = fixture('vllm/stream-continue-final.sse');
    const plan: AnswerPlan = { kind: 'native', prefix, echo: true };
    for (const size of [1, 11, 64, bytes.length]) {
      const result = await streamThrough('vllm', plan, bytes, { pieceSize: size });
      expect(result.content).toBe('The capital of France is Paris, a city on the Seine.');
      expect(result.usage).toEqual({ prompt_tokens: 21, total_tokens: 28, completion_tokens: 7 });
      expect(result.done).toBe(true);
    }
  });

  it('a stream that ends without [DONE] ends with an upstream_stream_truncated error event, rewritten or passed through', async () => {
    const whole = fixture('vllm/stream-continue-final.sse').toString('utf8');
    const cut = Buffer.from(whole.slice(0, whole.indexOf('data: [DONE]')));
    for (const plan of [strip, { kind: 'none', prefix: '', echo: false } satisfies AnswerPlan]) {
      for (const size of [7, cut.length]) {
        const result = await streamThrough('vllm', plan, cut, { pieceSize: size });
        expect(result.done).toBe(false);
        expect(result.content).toBe(' Paris, a city on the Seine.');
        expect(JSON.parse(result.events.at(-1)!)).toMatchObject({ error: { code: 'upstream_stream_truncated', type: 'upstream_error' } });
      }
    }
  });

  it('flushes text held as a possible repeat when the stream ends without a finish reason', async () => {
    const body = Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"The capital"}}]}\n\n' + 'data: [DONE]\n\n');
    expect((await streamThrough('vllm', strip, body)).content).toBe('The capital');
  });

  it('keeps choices apart (n > 1)', async () => {
    const body = Buffer.from(
      'data: {"choices":[{"index":0,"delta":{"content":"The capital of France is A"}}]}\n\n' +
        'data: {"choices":[{"index":1,"delta":{"content":" B"}}]}\n\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n' +
        'data: [DONE]\n\n',
    );
    for (const plan of [strip, { ...strip, manyChoices: true }]) {
      const result = await streamThrough('vllm', plan, body);
      expect(result.content).toBe(' A B');
    }
  });

  it('passes an in-stream error event on as an OpenAI error event built from its fields', async () => {
    const body = Buffer.from('data: {"error":{"message":"overloaded","type":"server_error"}}\n\n');
    expect((await streamThrough('vllm', strip, body)).events).toEqual(['{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}']);
  });
});

describe('the stream path with an emulated prefill', () => {
  const plan: AnswerPlan = { kind: 'emulated', prefix: 'Once upon', echo: false, repeated: { text: 'Once upon', skipLeadingWhitespace: true } };
  const stream = (first: string) =>
    Buffer.from(
      `data: {"choices":[{"index":0,"delta":{"role":"assistant","content":${JSON.stringify(first)}}}]}\n\n` +
        'data: {"choices":[{"index":0,"delta":{"content":" there was a fox."}}]}\n\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n',
    );

  it('a repeat of the prefix, whitespace in front, is stripped', async () => {
    expect((await streamThrough('openai', plan, stream('\nOnce upon a time,'))).content).toBe(' a time, there was a fox.');
  });

  // Leading whitespace of a continuation that is not a repeat reaches the client once.
  it('a continuation that starts with a space keeps one space', async () => {
    expect((await streamThrough('openai', plan, stream(' a time,'))).content).toBe(' a time, there was a fox.');
  });

  it('a continuation that starts with newlines keeps them once', async () => {
    expect((await streamThrough('openai', plan, stream('\n\nThe end.'))).content).toBe('\n\nThe end. there was a fox.');
  });
});
