import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ResponsePlan } from '../../src/response/plan.js';
import { ChatStreamRewriter } from '../../src/response/stream.js';
import { SseParser } from '../../src/sse/parser.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

/** Runs the rewriter over `bytes` cut into pieces of `size` bytes; returns the client's view. */
function rewrite(bytes: Buffer, plan: ResponsePlan, size = bytes.length) {
  const rewriter = new ChatStreamRewriter(plan);
  let out = '';
  for (let i = 0; i < bytes.length; i += size) out += rewriter.write(bytes.subarray(i, i + size));
  out += rewriter.end();
  const events: string[] = [];
  const parser = new SseParser((event) => events.push(event.data));
  parser.push(out);
  let content = '';
  let done = false;
  let usage: unknown;
  for (const data of events) {
    if (data === '[DONE]') {
      done = true;
      continue;
    }
    const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string | null } }>; usage?: unknown };
    for (const choice of chunk.choices ?? []) content += choice.delta.content ?? '';
    if (chunk.usage) usage = chunk.usage;
  }
  return { content, done, usage, events };
}

const prefix = 'The capital of France is';
const strip: ResponsePlan = { kind: 'native', prefix, echo: false, repeated: { text: prefix, skipLeadingWhitespace: false } };

describe('ChatStreamRewriter over recorded llama.cpp streams', () => {
  it('removes the prefix a September 2026 build glues to the first delta, at every cut', () => {
    const bytes = fixture('llamacpp/stream-2026-09-echo.sse');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const result = rewrite(bytes, strip, size);
      expect(result.content).toBe(' Paris, a city on the Seine.');
      expect(result.done).toBe(true);
      expect(result.usage).toMatchObject({ completion_tokens: 9 });
    }
  });

  it('leaves a 2025 build (continuation only) as it is', () => {
    const bytes = fixture('llamacpp/stream-2025.sse');
    for (const size of [1, 5, bytes.length]) expect(rewrite(bytes, strip, size).content).toBe(' Paris, a city on the Seine.');
  });

  it('gives prefix + continuation with echo, whatever the build', () => {
    const echo = { ...strip, echo: true };
    for (const name of ['llamacpp/stream-2026-09-echo.sse', 'llamacpp/stream-2025.sse']) {
      expect(rewrite(fixture(name), echo, 3).content).toBe('The capital of France is Paris, a city on the Seine.');
    }
  });

  it('puts the echoed prefix in the first event (the role event), before any generated text', () => {
    const result = rewrite(fixture('llamacpp/stream-2025.sse'), { ...strip, echo: true });
    const first = JSON.parse(result.events[0]!) as { choices: Array<{ delta: { role?: string; content?: string } }> };
    expect(first.choices[0]!.delta).toEqual({ role: 'assistant', content: prefix });
  });
});

describe('ChatStreamRewriter once every choice is settled', () => {
  it('passes the rest of the stream byte for byte, without parsing it', () => {
    const later = 'data: {"choices": [{"index": 0, "delta": {"content": " and more"}}]}\n\n' + ': comment\n\ndata: [DONE]\n\n';
    const rewriter = new ChatStreamRewriter(strip);
    const first = rewriter.write(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"The capital of France is Paris"}}]}\n\n'));
    expect(String(first)).toContain('"content":" Paris"');
    const rest = rewriter.write(Buffer.from(later));
    expect(Buffer.isBuffer(rest)).toBe(true);
    expect(String(rest)).toBe(later);
  });

  it('keeps parsing while a choice may still hold a repeat, or when several choices were asked for', () => {
    const rewriter = new ChatStreamRewriter(strip);
    rewriter.write(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"The capital"}}]}\n\n'));
    expect(Buffer.isBuffer(rewriter.write(Buffer.from('data: {"choices": []}\n\n')))).toBe(false);
    const many = new ChatStreamRewriter({ ...strip, manyChoices: true });
    many.write(Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n'));
    expect(Buffer.isBuffer(many.write(Buffer.from('data: {"choices":[{"index":1,"delta":{"content":"The"}}]}\n\n')))).toBe(false);
  });
});

describe('ChatStreamRewriter over a recorded vLLM stream', () => {
  it('passes usage-only chunks and [DONE] through, and adds echo', () => {
    const bytes = fixture('vllm/stream-continue-final.sse');
    const plan: ResponsePlan = { kind: 'native', prefix, echo: true };
    const result = rewrite(bytes, plan, 11);
    expect(result.content).toBe('The capital of France is Paris, a city on the Seine.');
    expect(result.usage).toEqual({ prompt_tokens: 21, total_tokens: 28, completion_tokens: 7 });
    expect(result.done).toBe(true);
  });

  it('flushes text held as a possible repeat when the stream ends without a finish reason', () => {
    const body = Buffer.from(
      'data: {"choices":[{"index":0,"delta":{"content":"The capital"}}]}\n\n' + 'data: [DONE]\n\n',
    );
    expect(rewrite(body, strip).content).toBe('The capital');
  });

  it('keeps choices apart (n > 1)', () => {
    const body = Buffer.from(
      'data: {"choices":[{"index":0,"delta":{"content":"The capital of France is A"}}]}\n\n' +
        'data: {"choices":[{"index":1,"delta":{"content":" B"}}]}\n\n' +
        'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n' +
        'data: [DONE]\n\n',
    );
    const result = rewrite(body, strip);
    expect(result.content).toBe(' A B');
  });

  it('passes an in-stream error event through unchanged', () => {
    const body = Buffer.from('data: {"error":{"message":"overloaded","type":"server_error"}}\n\n');
    expect(rewrite(body, strip).events).toEqual(['{"error":{"message":"overloaded","type":"server_error"}}']);
  });
});
