/**
 * Every chat answer the proxy builds, rewrites or translates — whole, every stream chunk, and errors —
 * validates against OpenAI's published OpenAPI schema (the pinned copy in test/schemas/openai/), in
 * front of the built-in mock and each provider's mock, in each prefill mode. Checked on the wire
 * (raw HTTP), as strict generated clients read it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { validateChatCompletion, validateChatCompletionChunk, validateErrorResponse } from '../helpers/openai-schema.js';
import { startAnthropic } from '../mocks/anthropic.js';
import { startDeepSeek } from '../mocks/deepseek.js';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import { startMistral } from '../mocks/mistral.js';
import { startOpenAI } from '../mocks/openai.js';
import type { MockServer } from '../mocks/server.js';
import { startThinkingLlamaCpp } from '../mocks/thinking-llamacpp.js';
import { startVllm } from '../mocks/vllm.js';

interface Setup {
  name: string;
  model: string;
  start?: () => Promise<MockServer>;
  env: (url: string) => Record<string, string>;
  /** Its native prefill needs no rewriting: the answer is piped untouched (the upstream's own bytes). */
  pipesPrefill?: boolean;
  /** It cannot start a new turn after an assistant message: explicit mode with a bare one is a 400. */
  noNewTurn?: boolean;
}

const SETUPS: Setup[] = [
  { name: 'built-in mock', model: 'mock-1', env: () => ({}) },
  { name: 'llama.cpp 2025 (mock)', model: 'q', start: () => startLlamaCpp({ build: '2025' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true },
  { name: 'llama.cpp 2026-09 (mock)', model: 'q', start: () => startLlamaCpp({ build: '2026-09' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true },
  { name: 'llama.cpp thinking (mock)', model: 'q', start: () => startThinkingLlamaCpp(), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }), noNewTurn: true },
  { name: 'vLLM', model: 'Qwen/Qwen2.5-0.5B-Instruct', start: () => startVllm(), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'vllm' }), pipesPrefill: true },
  { name: 'DeepSeek', model: 'deepseek-chat', start: () => startDeepSeek(), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }), pipesPrefill: true, noNewTurn: true },
  { name: 'Mistral', model: 'mistral-small-latest', start: () => startMistral(), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'mistral', UPSTREAM_API_KEY: 'sk-mistral' }), noNewTurn: true },
  { name: 'Anthropic', model: 'claude-sonnet-4-5', start: () => startAnthropic({ apiKey: 'sk-ant-test' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }), noNewTurn: true },
  { name: 'Anthropic 4.6 (emulated)', model: 'claude-opus-4-6', start: () => startAnthropic({ apiKey: 'sk-ant-test' }), env: (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }), noNewTurn: true },
  { name: 'OpenAI (emulated)', model: 'gpt-4o-mini', start: () => startOpenAI({ apiKey: 'sk-openai' }), env: (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: 'sk-openai' }) },
];

const user = { role: 'user', content: 'Tell me a story.' };
const partial = { role: 'assistant', content: 'Once upon a time' };

async function post(proxy: RunningProxy, body: Record<string, unknown>, mode?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (mode) headers['x-prefill-mode'] = mode;
  const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, prefill: response.headers.get('x-prefill'), text: await response.text() };
}

function expectConformant(kind: 'whole' | 'error', text: string) {
  const body = JSON.parse(text);
  const result = kind === 'whole' ? validateChatCompletion(body) : validateErrorResponse(body);
  expect(result.errors, text).toEqual([]);
}

function expectConformantStream(text: string) {
  const events: string[] = [];
  new SseParser((event) => events.push(event.data)).push(text);
  expect(events.length).toBeGreaterThan(1);
  for (const data of events) {
    if (data === '[DONE]') continue;
    const body = JSON.parse(data) as Record<string, unknown>;
    const result = 'error' in body ? validateErrorResponse(body) : validateChatCompletionChunk(body);
    expect(result.errors, data).toEqual([]);
  }
}

for (const setup of SETUPS) {
  describe(`OpenAPI conformance in front of ${setup.name}`, () => {
    let upstream: MockServer | undefined;
    let proxy: RunningProxy;
    beforeAll(async () => {
      upstream = setup.start ? await setup.start() : undefined;
      proxy = await startProxy(setup.env(upstream?.url ?? ''));
    });
    afterAll(async () => {
      await proxy.close();
      await upstream?.close();
    });

    const cases: Array<[string, Record<string, unknown>, string | undefined]> = [
      ['a prefill', { messages: [user, partial] }, undefined],
      ['a prefill with echo', { messages: [user, partial], echo: true }, undefined],
      ['a prefill marked prefix: true in mode explicit', { messages: [user, { ...partial, prefix: true }] }, 'explicit'],
      ['a request that is not a prefill', { messages: [user] }, undefined],
    ];
    for (const [name, body, mode] of cases) {
      it(`${name}: whole and streamed (with usage)`, async () => {
        // Answers piped untouched (not a prefill, nothing to rewrite) are the upstream's own bytes; the
        // built-in mock's are the proxy's own, so they are held to the schema too.
        const piped = (prefill: string | null) => (prefill === 'none' || (prefill === 'native' && setup.pipesPrefill)) && body.echo !== true;
        const checked = (prefill: string | null) => !piped(prefill) || !setup.start;
        const whole = await post(proxy, { model: setup.model, max_tokens: 40, ...body }, mode);
        expect(whole.status, whole.text).toBe(200);
        if (checked(whole.prefill)) expectConformant('whole', whole.text);
        const streamed = await post(proxy, { model: setup.model, max_tokens: 40, ...body, stream: true, stream_options: { include_usage: true } }, mode);
        expect(streamed.status, streamed.text).toBe(200);
        if (checked(streamed.prefill)) expectConformantStream(streamed.text);
      });
    }

    it('errors: a bad request, an unknown field value, every mode with a bare trailing assistant message', async () => {
      const bad = await post(proxy, { model: setup.model, messages: [] });
      expect(bad.status).toBe(400);
      expect(bad.prefill).toBe('none');
      expectConformant('error', bad.text);
      const mode = await post(proxy, { model: setup.model, messages: [user, partial] }, 'sideways');
      expect(mode.status).toBe(400);
      expectConformant('error', mode.text);
      // A bare trailing assistant message in mode explicit: a new turn (piped: the upstream's bytes), or a
      // clear 400 where the upstream cannot start one. Either way x-prefill says none.
      const explicit = await post(proxy, { model: setup.model, max_tokens: 40, messages: [user, partial] }, 'explicit');
      expect(explicit.prefill).toBe('none');
      expect(explicit.status, explicit.text).toBe(setup.noNewTurn ? 400 : 200);
      if (explicit.status !== 200) {
        expect(explicit.status).toBe(400);
        expect(JSON.parse(explicit.text).error.code).toBe('prefill_mode_unsupported');
        expectConformant('error', explicit.text);
      } else if (!setup.start) {
        expectConformant('whole', explicit.text);
      }
    });
  });
}
