import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planChatCall } from '../../src/chat/plan.js';
import { DEFAULT_THINK_TAGS } from '../../src/prefill/reasoning.js';

const settings = (fallback: 'emulate' | 'reject') => ({ fallback, thinkTags: DEFAULT_THINK_TAGS });
import { ChatRequest } from '../../src/chat/schema.js';
import { loadConfig } from '../../src/config/env.js';
import { detectPrefill } from '../../src/prefill/detect.js';
import { providerFor, type ProviderId } from '../../src/providers/index.js';
import { ChatStreamRewriter } from '../../src/response/stream.js';
import type { ResponsePlan } from '../../src/response/plan.js';
import { SseParser } from '../../src/sse/parser.js';

const plan = (id: ProviderId, body: Record<string, unknown>) => {
  const request = ChatRequest.parse(body);
  return planChatCall(providerFor(id), settings('emulate'), request, detectPrefill(request, 'auto'), Buffer.from('raw'));
};

function streamText(file: string, responsePlan: ResponsePlan, size: number): { text: string; done: boolean } {
  const bytes = readFileSync(new URL(`../fixtures/${file}`, import.meta.url));
  const rewriter = new ChatStreamRewriter(responsePlan);
  let out = '';
  for (let i = 0; i < bytes.length; i += size) out += rewriter.write(bytes.subarray(i, i + size));
  out += rewriter.end();
  let text = '';
  let done = false;
  new SseParser(({ data }) => {
    if (data === '[DONE]') done = true;
    else for (const choice of JSON.parse(data).choices ?? []) text += choice.delta?.content ?? '';
  }).push(out);
  return { text, done };
}

describe('deepseek', () => {
  it('prefill goes to /beta with prefix: true, keeping reasoning_content; ordinary requests do not', () => {
    const prefill = plan('deepseek', {
      model: 'deepseek-reasoner',
      messages: [{ role: 'user', content: 'Fib?' }, { role: 'assistant', content: '```python\n', reasoning_content: 'Use recursion.' }],
    });
    expect(prefill.path).toBe('/beta/chat/completions');
    expect((prefill.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: '```python\n', reasoning_content: 'Use recursion.', prefix: true });
    const ordinary = plan('deepseek', { model: 'deepseek-chat', messages: [{ role: 'user', content: 'Hi' }] });
    expect(ordinary.path).toBe('/chat/completions');
    expect(ordinary.body).toEqual(Buffer.from('raw'));
  });

  it('whatever base URL the user gave (root, /v1, /beta), the prefix path is the same', () => {
    for (const url of ['https://api.deepseek.com', 'https://api.deepseek.com/v1', 'https://api.deepseek.com/beta', 'https://api.deepseek.com/beta/']) {
      expect(loadConfig({ UPSTREAM_URL: url }).upstream).toMatchObject({ provider: 'deepseek', origin: 'https://api.deepseek.com', basePath: '' });
    }
  });

  it('a stream with keep-alive comments passes through the rewriter', () => {
    expect(streamText('deepseek/stream-prefix-keepalive.sse', { kind: 'native', prefix: 'def fib(n):', echo: true }, 5)).toEqual({
      text: 'def fib(n):\n    if n < 2:',
      done: true,
    });
  });
});

describe('mistral', () => {
  it('sends prefix: true and only the fields Mistral documents, without nulls', () => {
    const { body, response } = plan('mistral', {
      model: 'mistral-small-latest',
      seed: 42,
      max_completion_tokens: 64,
      stream_options: { include_usage: true },
      logprobs: null,
      user: 'u-1',
      echo: true,
      messages: [
        { role: 'developer', content: 'Speak like a pirate.' },
        { role: 'user', content: 'Hi', name: 'bob' },
        { role: 'assistant', content: [{ type: 'text', text: 'Arrr, ' }, { type: 'text', text: 'matey' }], refusal: null },
      ],
    });
    expect(body).toEqual({
      model: 'mistral-small-latest',
      random_seed: 42,
      max_tokens: 64,
      messages: [
        { role: 'system', content: 'Speak like a pirate.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Arrr, matey', prefix: true },
      ],
    });
    expect(response).toMatchObject({ kind: 'native', echo: true, repeated: { text: 'Arrr, matey' } });
  });

  it('ordinary requests are cleaned too', () => {
    const { body } = plan('mistral', { model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream_options: { include_usage: true }, tool_choice: null });
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('the echoed prefix split over deltas and glued to the first token is removed, at every cut', () => {
    for (const size of [1, 3, 50, 10_000]) {
      const result = streamText('mistral/stream-prefix-echo.sse', { kind: 'native', prefix: 'Arrr, matey', echo: false, repeated: { text: 'Arrr, matey', skipLeadingWhitespace: false } }, size);
      expect(result).toEqual({ text: '! The sea is calm.', done: true });
    }
  });
});

describe('kimi and dashscope', () => {
  for (const id of ['kimi', 'dashscope'] as const) {
    it(`${id}: partial: true, and JSON mode takes the fallback`, () => {
      const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', name: 'Dr. Kimi' }];
      const native = plan(id, { model: 'm', messages });
      expect((native.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: 'Hello', name: 'Dr. Kimi', partial: true });
      expect(native.response.repeated).toBeUndefined();
      expect(plan(id, { model: 'm', messages, response_format: { type: 'json_object' } }).response.kind).toBe('emulated');
    });
  }
});

describe('groq and openrouter', () => {
  for (const id of ['groq', 'openrouter'] as const) {
    it(`${id}: trailing assistant message, a possible repeat stripped, proxy fields never sent`, () => {
      const native = plan(id, { model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello', prefix: true }], echo: true });
      expect(native.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] });
      expect(native.response.repeated).toEqual({ text: 'Hello', skipLeadingWhitespace: false });
      const ordinary = plan(id, { model: 'm', messages: [{ role: 'user', content: 'Hi' }], echo: false });
      expect(ordinary.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
    });
  }
});

describe('provider inference from well-known hosts', () => {
  const cases: Array<[string, ProviderId, string]> = [
    ['https://api.deepseek.com', 'deepseek', ''],
    ['https://api.mistral.ai/v1', 'mistral', ''],
    ['https://api.anthropic.com', 'anthropic', ''],
    ['https://api.openai.com/v1', 'openai', ''],
    ['https://api.groq.com/openai/v1', 'groq', '/openai'],
    ['https://openrouter.ai/api/v1', 'openrouter', '/api'],
    ['https://api.moonshot.ai/v1', 'kimi', ''],
    ['https://dashscope-intl.aliyuncs.com/compatible-mode/v1', 'dashscope', '/compatible-mode'],
  ];
  for (const [url, provider, basePath] of cases) {
    it(`${url} → ${provider}`, () => {
      expect(loadConfig({ UPSTREAM_URL: url }).upstream).toMatchObject({ provider, providerSource: 'inferred', basePath });
    });
  }
});
