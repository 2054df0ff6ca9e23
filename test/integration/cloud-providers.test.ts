import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropic } from '../mocks/anthropic.js';
import { greedyTokens, renderChatml } from '../mocks/chat-template.js';
import { startDeepSeek } from '../mocks/deepseek.js';
import { startMistral } from '../mocks/mistral.js';
import type { MockServer } from '../mocks/server.js';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

/** Runs the proxy in front of `start()` with the given environment; returns both, closed after the suite. */
function inFrontOf(start: () => Promise<MockServer>, env: (url: string) => Record<string, string>) {
  const handle = {} as { upstream: MockServer; proxy: RunningProxy };
  beforeAll(async () => {
    handle.upstream = await start();
    handle.proxy = await startProxy(env(handle.upstream.url));
  });
  afterAll(async () => {
    await handle.proxy.close();
    await handle.upstream.close();
  });
  return handle;
}

describe('DeepSeek', () => {
  const h = inFrontOf(() => startDeepSeek(), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'deepseek', UPSTREAM_API_KEY: 'sk-deepseek' }));
  const messages = [
    { role: 'user' as const, content: 'Write a Fibonacci function.' },
    { role: 'assistant' as const, content: '```python\n', prefix: true },
  ];
  const expected = greedyTokens(renderChatml(messages, { continueFinal: true, addGenerationPrompt: false })).join('');

  it('prefills through /beta: continuation only, streamed and not; echo gives prefix + continuation', async () => {
    const { data, response } = await h.proxy.client.chat.completions.create({ model: 'deepseek-chat', messages: messages as never }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(expected);
    expect(h.upstream.requests.at(-1)!.url).toBe('/beta/chat/completions');
    expect((await streamed(h.proxy.client, { model: 'deepseek-chat', messages })).content).toBe(expected);
    expect((await complete(h.proxy.client, { model: 'deepseek-chat', messages, echo: true })).choices[0]!.message.content).toBe(`\`\`\`python\n${expected}`);
    expect((await streamed(h.proxy.client, { model: 'deepseek-chat', messages, echo: true })).content).toBe(`\`\`\`python\n${expected}`);
  });

  it('ordinary requests keep the standard path', async () => {
    const data = await h.proxy.client.chat.completions.create({ model: 'deepseek-chat', messages: [messages[0]!] });
    expect(data.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(h.upstream.requests.at(-1)!.url).toBe('/chat/completions');
  });

  it('reasoner: the chain-of-thought prefix goes in reasoning_content of the prefix message', async () => {
    const data = await complete(h.proxy.client, {
      model: 'deepseek-reasoner',
      messages: [{ role: 'user', content: 'Fib?' }, { role: 'assistant', content: '', reasoning_content: 'Recursion is simplest.', prefix: true }],
    });
    expect((data.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBe('So the answer follows.');
    expect(h.upstream.requests.at(-1)!.json!.messages).toEqual([
      { role: 'user', content: 'Fib?' },
      { role: 'assistant', content: '', reasoning_content: 'Recursion is simplest.', prefix: true },
    ]);
  });

  it("DeepSeek's own 400 reaches the client with its status and message (prefix sent untouched in mode off)", async () => {
    const error = await h.proxy.client.chat.completions
      .create({ model: 'deepseek-chat', messages: messages as never }, { headers: { 'x-prefill-mode': 'off' } })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, message: expect.stringContaining('prefix is only available when using beta api') });
  });
});

describe('Mistral', () => {
  const h = inFrontOf(() => startMistral(), (url) => ({ UPSTREAM_URL: `${url}/v1`, UPSTREAM_PROVIDER: 'mistral', UPSTREAM_API_KEY: 'sk-mistral' }));
  const messages = [
    { role: 'system' as const, content: 'Speak like a pirate.' },
    { role: 'user' as const, content: 'How is the sea?' },
    { role: 'assistant' as const, content: 'Arrr, matey, the sea' },
  ];
  const expected = greedyTokens(renderChatml(messages, { continueFinal: true, addGenerationPrompt: false })).join('');

  it('removes the prefix Mistral repeats, streamed (split and glued) and not; echo keeps exactly one copy', async () => {
    const { data, response } = await h.proxy.client.chat.completions
      .create({ model: 'mistral-small-latest', messages, seed: 1, stream_options: null, max_completion_tokens: 50 })
      .withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(expected);
    const stream = await streamed(h.proxy.client, { model: 'mistral-small-latest', messages, stream_options: { include_usage: true } });
    expect(stream.content).toBe(expected);
    expect((await complete(h.proxy.client, { model: 'mistral-small-latest', messages, echo: true })).choices[0]!.message.content).toBe(`Arrr, matey, the sea${expected}`);
    expect((await streamed(h.proxy.client, { model: 'mistral-small-latest', messages, echo: true })).content).toBe(`Arrr, matey, the sea${expected}`);
  });

  it("mode explicit: a bare trailing assistant message is a clear 400 of the proxy's; mode off: Mistral's own 3230 reaches the client", async () => {
    const explicit = await h.proxy.client.chat.completions
      .create({ model: 'mistral-small-latest', messages }, { headers: { 'x-prefill-mode': 'explicit' } })
      .catch((err: unknown) => err);
    expect(explicit).toMatchObject({ status: 400, code: 'prefill_mode_unsupported', param: `messages[${messages.length - 1}]` });
    expect((explicit as Error).message).toContain('"prefix": true');
    const before = h.upstream.requests.length;
    const off = await h.proxy.client.chat.completions
      .create({ model: 'mistral-small-latest', messages }, { headers: { 'x-prefill-mode': 'off' } })
      .catch((err: unknown) => err);
    expect(off).toMatchObject({ status: 400, code: '3230', type: 'invalid_request_message_order', message: expect.stringContaining('Expected last role User or Tool') });
    expect(h.upstream.requests.length).toBe(before + 1);
  });

  it('the wrong key gives 401 in OpenAI shape', async () => {
    const proxy = await startProxy({ UPSTREAM_URL: h.upstream.url, UPSTREAM_PROVIDER: 'mistral', UPSTREAM_API_KEY: 'sk-wrong' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages: [messages[1]!] }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 401, message: expect.stringContaining('Unauthorized') });
    await proxy.close();
  });
});

describe('Anthropic', () => {
  const h = inFrontOf(() => startAnthropic({ apiKey: 'sk-ant-test' }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' }));
  const model = 'claude-sonnet-4-5-20250929';
  const messages = [
    { role: 'system' as const, content: 'You finish sentences.' },
    { role: 'user' as const, content: 'Finish it.' },
    { role: 'assistant' as const, content: 'The quick brown fox ' },
  ];

  it('continues a prefill ending in a space without a double space; streamed equals non-streamed; echo reads whole', async () => {
    const { data, response } = await h.proxy.client.chat.completions.create({ model, messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    const content = data.choices[0]!.message.content!;
    expect(content.length).toBeGreaterThan(0);
    expect(content.startsWith(' ')).toBe(false);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({ completion_tokens: 8, prompt_tokens_details: { cached_tokens: 12 } });
    const sent = h.upstream.requests.at(-1)!;
    expect(sent.url).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.json).toMatchObject({ model, max_tokens: 4096, system: 'You finish sentences.' });
    expect((sent.json!.messages as unknown[]).at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The quick brown fox' }] });

    const stream = await streamed(h.proxy.client, { model, messages, stream_options: { include_usage: true } });
    expect(stream.content).toBe(content);
    expect(stream.finishReason).toBe('stop');
    expect(stream.chunks.at(-1)!.usage?.completion_tokens).toBe(8);
    expect((await complete(h.proxy.client, { model, messages, echo: true })).choices[0]!.message.content).toBe(`The quick brown fox ${content}`);
    expect((await streamed(h.proxy.client, { model, messages, echo: true })).content).toBe(`The quick brown fox ${content}`);
  });

  it('Claude 4.6 and later take the fallback: emulated by default', async () => {
    const { data, response } = await h.proxy.client.chat.completions.create({ model: 'claude-opus-4-6', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect((h.upstream.requests.at(-1)!.json!.messages as Array<{ role: string }>).at(-1)!.role).toBe('user');
  });

  it('a model the proxy does not know to reject prefill, but which does, falls back after its 400', async () => {
    const upstream = await startAnthropic({ noPrefillModels: /^claude-nova/ });
    const proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test' });
    const { data, response } = await proxy.client.chat.completions.create({ model: 'claude-nova-1', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(upstream.requests.map((request) => (request.json!.messages as Array<{ role: string }>).at(-1)!.role)).toEqual(['assistant', 'user']);
    await proxy.close();
    await upstream.close();
  });

  it('with PREFILL_FALLBACK=reject, Claude 4.6 gets a clear 400', async () => {
    const proxy = await startProxy({ UPSTREAM_URL: h.upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test', PREFILL_FALLBACK: 'reject' });
    const error = await proxy.client.chat.completions.create({ model: 'claude-opus-4-6', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'prefill_not_supported' });
    await proxy.close();
  });

  it('an ordinary request with thinking and tools: reasoning_content, tool_calls, finish reason', async () => {
    const data = await complete(h.proxy.client, {
      model,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } } }],
      tool_choice: 'required',
      reasoning_effort: 'low',
    } as never);
    const message = data.choices[0]!.message as { reasoning_content?: string; tool_calls?: Array<{ function: { name: string; arguments: string } }> };
    expect(message.reasoning_content).toBe('Let me think about the fox.');
    expect(message.tool_calls![0]!.function).toEqual({ name: 'get_weather', arguments: '{"location":"Paris"}' });
    expect(data.choices[0]!.finish_reason).toBe('tool_calls');
    const stream = await h.proxy.client.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    const { chunks, finishReason } = await collect(stream);
    const args = chunks.flatMap((chunk) => chunk.choices[0]?.delta?.tool_calls ?? []).map((call) => call.function?.arguments ?? '').join('');
    expect(args).toBe('{"location": "Paris"}');
    expect(finishReason).toBe('tool_calls');
  });

  it("Anthropic's errors keep their status and message: the whitespace 400 (mode off) and a bad key", async () => {
    const error = await h.proxy.client.chat.completions
      .create({ model, messages: [messages[1]!, { role: 'assistant', content: 'Trailing space ' }] }, { headers: { 'x-prefill-mode': 'off' } })
      .catch((err: unknown) => err);
    // mode off still translates the request; Anthropic then sees the untrimmed text.
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', message: expect.stringContaining('trailing whitespace') });
    const proxy = await startProxy({ UPSTREAM_URL: h.upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-wrong' });
    const auth = await proxy.client.chat.completions.create({ model, messages: [messages[1]!] }).catch((err: unknown) => err);
    expect(auth).toMatchObject({ status: 401, type: 'authentication_error', message: expect.stringContaining('invalid x-api-key') });
    expect(JSON.stringify(auth)).not.toContain('sk-ant-wrong');
    await proxy.close();
  });
});

describe('Anthropic failing mid-stream', () => {
  const h = inFrontOf(() => startAnthropic({ failAfterDeltas: 2 }), (url) => ({ UPSTREAM_URL: url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_API_KEY: 'sk-ant-test', RESUME_ATTEMPTS: '0' }));
  it('the in-stream error event reaches the SDK as an error (no resume: RESUME_ATTEMPTS=0)', async () => {
    const stream = await h.proxy.client.chat.completions.create({ model: 'claude-3-5-haiku-20241022', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const error = await collect(stream).catch((err: unknown) => err);
    expect(error).toMatchObject({ message: expect.stringContaining('Overloaded') });
  });
});
