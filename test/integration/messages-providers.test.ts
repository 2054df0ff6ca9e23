/**
 * The Messages door in front of each provider's mock (llama.cpp's two builds, vLLM, DeepSeek, Mistral,
 * OpenAI, Anthropic), driven by the official Anthropic SDK: a prefill continued with the continuation
 * only, streamed and not, echo, a turn that is not a prefill, errors in Anthropic's shape. Anthropic
 * gets the Messages request as it came (cache_control, documents, thinking signatures), its prefill
 * handled in place.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTINUE_INSTRUCTION } from '../../src/prefill/emulate.js';
import { checkMessage, checkStream, parseNamedEvents } from '../fixtures/anthropic/sdk-shapes.js';
import { startAnthropic } from '../mocks/anthropic.js';
import { greedyTokens, renderChatml } from '../mocks/chat-template.js';
import { startDeepSeek } from '../mocks/deepseek.js';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import { startMistral } from '../mocks/mistral.js';
import { startOpenAI } from '../mocks/openai.js';
import { sendJson, startMockServer, type MockServer } from '../mocks/server.js';
import { startVllm } from '../mocks/vllm.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

type Params = Anthropic.MessageCreateParamsNonStreaming;
/** Fields the SDK's types leave out (the proxy's `echo`; `top_k`, which this SDK version no longer types) go as they are. */
const withFields = (params: Params, fields: Record<string, unknown>) => ({ ...params, ...fields }) as Params;
const withEcho = (params: Params) => withFields(params, { echo: true });
type APIError = InstanceType<typeof Anthropic.APIError>;
/** The error a call ends with (a call that succeeds fails the test). */
const errorOf = (promise: Promise<unknown>): Promise<APIError> =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err as APIError,
  );
const sdk = (url: string) => new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0, timeout: 15_000 });
const textOf = (message: Anthropic.Message) => message.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');

/** messages.stream(): the text as the SDK's `text` events gave it, and the final Message. */
async function streamed(client: Anthropic, params: Params) {
  const stream = client.messages.stream(params as Anthropic.MessageStreamParams);
  let text = '';
  stream.on('text', (delta) => (text += delta));
  const final = await stream.finalMessage();
  return { text, final };
}

/** The raw SSE of a streamed request, its events checked against the SDK's types and order. */
async function rawStream(url: string, body: object) {
  const response = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  return parseNamedEvents(await response.text());
}

/** Runs the proxy in front of `start()`; both closed after the suite. */
function inFrontOf(start: () => Promise<MockServer>, env: (url: string) => Record<string, string>) {
  const handle = {} as { upstream: MockServer; proxy: RunningProxy; client: Anthropic };
  beforeAll(async () => {
    handle.upstream = await start();
    handle.proxy = await startProxy(env(handle.upstream.url));
    handle.client = sdk(handle.proxy.url);
  });
  afterAll(async () => {
    await handle.proxy.close();
    await handle.upstream.close();
  });
  return handle;
}

/** What every OpenAI-dialect upstream must give through the Messages door. */
function prefillContract(h: { proxy: RunningProxy; client: Anthropic }, params: Params, prefix: string, expected: () => string) {
  it('continues the final assistant turn: continuation only, streamed and not, SDK types', async () => {
    const { data, response } = await h.client.messages.create(params).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(textOf(data)).toBe(expected());
    expect(data.stop_reason).toBe('end_turn');
    expect(checkMessage(data)).toEqual([]);
    const { text, final } = await streamed(h.client, params);
    expect(text).toBe(expected());
    expect(checkMessage(final)).toEqual([]);
    expect(checkStream(await rawStream(h.proxy.url, params))).toEqual([]);
  });

  it('echo gives prefix + continuation, streamed and not', async () => {
    expect(textOf(await h.client.messages.create(withEcho(params)))).toBe(prefix + expected());
    expect((await streamed(h.client, withEcho(params))).text).toBe(prefix + expected());
  });
}

const story = (prefix: string): Anthropic.MessageParam[] => [
  { role: 'user', content: 'Tell me about a fox.' },
  { role: 'assistant', content: prefix },
];

for (const build of ['2025', '2026-09'] as const) {
  describe(`llama.cpp (mock, build ${build})`, () => {
    const h = inFrontOf(() => startLlamaCpp({ build }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'llamacpp' }));
    const params: Params = { model: 'any', max_tokens: 64, system: 'You are a storyteller.', messages: story('Once upon a time, a fox') };
    const rendered = [
      { role: 'system', content: 'You are a storyteller.' },
      { role: 'user', content: 'Tell me about a fox.' },
      { role: 'assistant', content: 'Once upon a time, a fox' },
    ];
    prefillContract(h, params, 'Once upon a time, a fox', () => greedyTokens(renderChatml(rendered, { continueFinal: true, addGenerationPrompt: false })).join(''));

    it('a turn that is not a prefill is answered anew; top_k and stop sequences reach llama.cpp', async () => {
      const { data, response } = await h.client.messages.create(withFields(params, { messages: [params.messages[0]!], top_k: 1, stop_sequences: ['\n\n'] })).withResponse();
      expect(response.headers.get('x-prefill')).toBe('none');
      expect(textOf(data).length).toBeGreaterThan(0);
      expect(h.upstream.requests.at(-1)!.json).toMatchObject({ top_k: 1, stop: ['\n\n'], max_tokens: 64 });
    });

    it('count_tokens: the mock has no /tokenize, so the count is an estimate, and says so', async () => {
      const { data, response } = await h.client.messages.countTokens({ model: 'any', messages: params.messages }).withResponse();
      expect(response.headers.get('x-token-count')).toBe('estimate');
      expect(data.input_tokens).toBeGreaterThan(0);
    });
  });
}

describe('vLLM (mock)', () => {
  const model = 'Qwen/Qwen2.5-0.5B-Instruct';
  const h = inFrontOf(() => startVllm({ apiKey: 'sk-vllm' }), (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_API_KEY: 'sk-vllm' }));
  const params: Params = { model, max_tokens: 64, messages: story('The fox') };
  prefillContract(h, params, 'The fox', () => greedyTokens(renderChatml(params.messages as never, { continueFinal: true, addGenerationPrompt: false })).join(''));

  it('the request model as vLLM takes it: continue_final_message, usage asked for in streams, no proxy fields', async () => {
    await streamed(h.client, withEcho(params));
    const sent = h.upstream.requests.at(-1)!.json!;
    expect(sent).toMatchObject({ model, continue_final_message: true, add_generation_prompt: false, stream: true, stream_options: { include_usage: true }, max_tokens: 64 });
    expect(sent).not.toHaveProperty('echo');
    expect((sent.messages as Array<Record<string, unknown>>).at(-1)).toEqual({ role: 'assistant', content: 'The fox' });
  });

  it("vLLM's own errors keep their status, in Anthropic's shape", async () => {
    const error = await errorOf(h.client.messages.create({ ...params, model: 'no-such-model' }));
    expect(error.status).toBe(404);
    expect(error.error).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.stringContaining('no-such-model') } });
  });
});

describe('DeepSeek (mock)', () => {
  const h = inFrontOf(() => startDeepSeek(), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }));
  const params: Params = { model: 'deepseek-chat', max_tokens: 64, messages: [{ role: 'user', content: 'Write quicksort.' }, { role: 'assistant', content: '```python\n' }] };
  prefillContract(h, params, '```python\n', () => greedyTokens(renderChatml(params.messages as never, { continueFinal: true, addGenerationPrompt: false })).join(''));

  it('the prefill goes to /beta with prefix: true; a turn that is not a prefill keeps the standard path', async () => {
    await h.client.messages.create(params);
    expect(h.upstream.requests.at(-1)!.url).toBe('/beta/chat/completions');
    expect((h.upstream.requests.at(-1)!.json!.messages as unknown[]).at(-1)).toEqual({ role: 'assistant', content: '```python\n', prefix: true });
    const { response } = await h.client.messages.create({ ...params, messages: [params.messages[0]!] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(h.upstream.requests.at(-1)!.url).toBe('/chat/completions');
  });
});

describe('Mistral (mock)', () => {
  const h = inFrontOf(() => startMistral(), (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'mistral', UPSTREAM_API_KEY: 'sk-mistral' }));
  const params: Params = { model: 'mistral-small-latest', max_tokens: 64, system: 'Speak like a pirate.', messages: [{ role: 'user', content: 'How is the sea?' }, { role: 'assistant', content: 'Arrr, matey, the sea' }] };
  const rendered = [{ role: 'system', content: 'Speak like a pirate.' }, ...params.messages];
  // Mistral repeats the prefix; the proxy strips it.
  prefillContract(h, withFields(params, { top_k: 5 }), 'Arrr, matey, the sea', () => greedyTokens(renderChatml(rendered as never, { continueFinal: true, addGenerationPrompt: false })).join(''));
});

describe('OpenAI (mock): no native prefill, emulated', () => {
  const h = inFrontOf(() => startOpenAI({ apiKey: 'sk-openai' }), (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: 'sk-openai' }));
  const params: Params = { model: 'gpt-4o-mini', max_tokens: 64, messages: story('The quick brown fox') };

  it('the fallback asks for the continuation (x-prefill emulated), streamed and not; top_k is not sent', async () => {
    const { data, response } = await h.client.messages.create(withFields(params, { top_k: 3 })).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(textOf(data)).toBe(' jumped over the lazy dog.');
    expect(checkMessage(data)).toEqual([]);
    const sent = h.upstream.requests.at(-1)!.json!;
    expect(sent).not.toHaveProperty('top_k');
    expect((sent.messages as Array<{ content: string }>).at(-1)!.content).toBe(CONTINUE_INSTRUCTION);
    expect((await streamed(h.client, params)).text).toBe(' jumped over the lazy dog.');
    expect(textOf(await h.client.messages.create(withEcho(params)))).toBe('The quick brown fox jumped over the lazy dog.');
  });

  it('tools, tool_use and tool_result reach OpenAI in its own shape (tool messages before the user text)', async () => {
    await h.client.messages.create({
      model: 'gpt-4o-mini',
      max_tokens: 64,
      tools: [
        { name: 'get_weather', description: 'The weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        // Anthropic's server tool: only its servers run it, so OpenAI is not offered it.
        { type: 'web_search_20250305', name: 'web_search' },
      ],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }, { type: 'text', text: 'And tomorrow?' }] },
      ],
    });
    const sent = h.upstream.requests.at(-1)!.json!;
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'The weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(sent.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny' },
      { role: 'user', content: 'And tomorrow?' },
    ]);
  });
});

describe('Anthropic (mock): the Messages request goes as it came', () => {
  const model = 'claude-sonnet-4-5-20250929';
  const h = inFrontOf(() => startAnthropic({ apiKey: 'sk-ant-test' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }));
  const system: Anthropic.TextBlockParam[] = [{ type: 'text', text: 'You finish sentences.', cache_control: { type: 'ephemeral' } }];
  const params: Params = { model, max_tokens: 256, system, messages: [{ role: 'user', content: 'Finish it.' }, { role: 'assistant', content: 'The quick brown fox ' }] };

  it('a prefill ending in a space: sent as it came with the space trimmed, answered without a doubled space', async () => {
    const { data, response } = await h.client.messages.create(params).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    const sent = h.upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test');
    // cache_control and the system blocks reach Anthropic; only the trailing space is gone.
    expect(sent.json).toEqual({ ...params, messages: [params.messages[0], { role: 'assistant', content: 'The quick brown fox' }] });
    const text = textOf(data);
    expect(text.length).toBeGreaterThan(0);
    expect(text.startsWith(' ')).toBe(false);
    expect(data.usage).toMatchObject({ output_tokens: 8, cache_read_input_tokens: 12 });
    expect(checkMessage(data)).toEqual([]);
    const stream = await streamed(h.client, params);
    expect(stream.text).toBe(text);
    expect(checkStream(await rawStream(h.proxy.url, params))).toEqual([]);
    expect(textOf(await h.client.messages.create(withEcho(params)))).toBe(`The quick brown fox ${text}`);
    expect((await streamed(h.client, withEcho(params))).text).toBe(`The quick brown fox ${text}`);
    expect(h.upstream.requests.at(-1)!.json).not.toHaveProperty('echo');
  });

  it("a request that needs no rewriting gets Anthropic's own bytes: thinking signature, tool use, all of it", async () => {
    const body = {
      model,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Paris is sunny.' }, citations: { enabled: true } }, { type: 'text', text: 'Weather?' }] }],
    };
    const direct = await fetch(`${h.upstream.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const through = await fetch(`${h.proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(through.headers.get('x-prefill')).toBe('none');
    expect(await through.text()).toBe(await direct.text());
    // The document went to Anthropic as it came.
    expect(h.upstream.requests.at(-1)!.json).toEqual(body);
    const streamedDirect = await fetch(`${h.upstream.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
    const streamedThrough = await fetch(`${h.proxy.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
    expect(await streamedThrough.text()).toBe(await streamedDirect.text());
  });

  it('a rewritten answer keeps thinking signatures, whole and streamed (thinking on: the prefill is emulated)', async () => {
    const thinking = { ...params, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 } } as Params;
    const { data, response } = await h.client.messages.create(thinking).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.content[0]).toEqual({ type: 'thinking', thinking: 'Let me think about the fox.', signature: 'EqQBCgIYAhIM' });
    expect(checkMessage(data)).toEqual([]);
    const stream = await streamed(h.client, thinking);
    expect(stream.final.content[0]).toEqual({ type: 'thinking', thinking: 'Let me think about the fox.', signature: 'EqQBCgIYAhIM' });
    expect(checkStream(await rawStream(h.proxy.url, thinking))).toEqual([]);
  });

  it('a rewritten tool_use answer: tool_use blocks with their input, streamed as input_json_delta', async () => {
    const tools = { ...params, tools: [{ name: 'get_weather', input_schema: { type: 'object' as const } }], tool_choice: { type: 'any' as const } };
    const data = await h.client.messages.create(tools);
    expect(data.stop_reason).toBe('tool_use');
    expect(data.content).toEqual([{ type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'Paris' }, caller: { type: 'direct' } }]);
    const stream = await streamed(h.client, tools);
    expect(stream.final.content).toMatchObject([{ type: 'tool_use', name: 'get_weather', input: { location: 'Paris' } }]);
    expect(stream.final.stop_reason).toBe('tool_use');
    expect(checkStream(await rawStream(h.proxy.url, tools))).toEqual([]);
  });

  it('Claude 4.6 and later refuse prefill: emulated through the request model', async () => {
    const { data, response } = await h.client.messages.create({ ...params, model: 'claude-opus-4-6' }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(textOf(data).length).toBeGreaterThan(0);
    expect((h.upstream.requests.at(-1)!.json!.messages as Array<{ role: string }>).at(-1)!.role).toBe('user');
  });

  it("Anthropic's errors keep their status and type", async () => {
    const error = await errorOf(
      h.client.messages.create({ ...params, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'Trailing ' }] }, { headers: { 'x-prefill-mode': 'off' } }),
    );
    // Mode off: forwarded untouched, so Anthropic sees the trailing whitespace and refuses it.
    expect(error.status).toBe(400);
    expect(error.error).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('trailing whitespace') } });
  });
});

describe('Anthropic (mock): a stream that fails mid-way ends with an error event', () => {
  // Without resuming, which would mend the break (RESUME_ATTEMPTS has its own tests).
  const h = inFrontOf(() => startAnthropic({ apiKey: 'sk-ant-test', failAfterDeltas: 2 }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test', RESUME_ATTEMPTS: '0' }));
  const base = { model: 'claude-sonnet-4-5', max_tokens: 64 };

  it.each([
    ['passed through', [{ role: 'user' as const, content: 'Go.' }]],
    ['rewritten', [{ role: 'user' as const, content: 'Go.' }, { role: 'assistant' as const, content: 'The fox ' }]],
  ])('%s: the SDK raises it, with its type', async (_name, messages) => {
    const error = await errorOf(streamed(h.client, { ...base, messages }));
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error.error).toEqual({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const events = await rawStream(h.proxy.url, { ...base, messages });
    expect(events.at(-1)!.event).toBe('error');
    expect(events.map((event) => event.event)).not.toContain('message_stop');
  });
});

describe('count_tokens on an Anthropic upstream is forwarded', () => {
  const h = inFrontOf(
    () =>
      startMockServer((request, res) => {
        if (request.headers['x-api-key'] !== 'sk-ant-test') return sendJson(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
        if (request.url !== '/v1/messages/count_tokens') return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'Not found' } });
        if (request.json?.model === 'claude-nothing') return sendJson(res, 404, { type: 'error', error: { type: 'not_found_error', message: 'model: claude-nothing' } });
        return sendJson(res, 200, { input_tokens: 42 });
      }),
    (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }),
  );

  it("Anthropic's count, the request as it came; its errors in its shape", async () => {
    const params = { model: 'claude-sonnet-4-5', system: [{ type: 'text' as const, text: 'Hi', cache_control: { type: 'ephemeral' as const } }], messages: story('The fox') };
    const { data, response } = await h.client.messages.countTokens(params).withResponse();
    expect(data).toEqual({ input_tokens: 42 });
    expect(response.headers.get('x-token-count')).toBeNull();
    expect(h.upstream.requests.at(-1)!.json).toEqual(params);
    expect(h.upstream.requests.at(-1)!.headers['anthropic-version']).toBe('2023-06-01');
    const error = await errorOf(h.client.messages.countTokens({ ...params, model: 'claude-nothing' }));
    expect(error.status).toBe(404);
    expect(error.error).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'model: claude-nothing' } });
  });
});

describe('an upstream that cannot be reached, or does not answer in time', () => {
  it('unreachable: 502 api_error; timed out: 504 api_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await startProxy({ UPSTREAM_URL: `http://127.0.0.1:${port}`, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRIES: '0' });
    const silent = await startMockServer(() => new Promise(() => undefined));
    const slow = await startProxy({ UPSTREAM_URL: silent.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRIES: '0', UPSTREAM_HEADERS_TIMEOUT_MS: '300' });
    try {
      const params: Params = { model: 'm', max_tokens: 16, messages: story('The fox') };
      const a = await errorOf(sdk(unreachable.url).messages.create(params));
      expect(a.status).toBe(502);
      expect(a.error).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
      const b = await errorOf(sdk(slow.url).messages.create(params));
      expect(b.status).toBe(504);
      expect(b.error).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
    } finally {
      await unreachable.close();
      await slow.close();
      await silent.close();
    }
  });
});
