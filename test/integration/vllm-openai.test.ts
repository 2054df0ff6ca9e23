import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyTokens, renderChatml } from '../mocks/chat-template.js';
import { startOpenAI } from '../mocks/openai.js';
import type { MockServer } from '../mocks/server.js';
import { startVllm } from '../mocks/vllm.js';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

const MODEL = 'Qwen/Qwen2.5-0.5B-Instruct';
const messages = [
  { role: 'user' as const, content: 'Name a river.' },
  { role: 'assistant' as const, content: 'The longest river is' },
];

describe('in front of vLLM', () => {
  let upstream: MockServer;
  let proxy: RunningProxy;
  beforeAll(async () => {
    upstream = await startVllm({ apiKey: 'sk-vllm' });
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_API_KEY: 'sk-vllm' });
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  // vLLM renders the final assistant message open-ended and generates from there.
  const expected = greedyTokens(renderChatml(messages, { continueFinal: true, addGenerationPrompt: false })).join('');

  it('continues through continue_final_message, streamed and not', async () => {
    const { data, response } = await proxy.client.chat.completions.create({ model: MODEL, messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(expected);
    const streamed = await collect(await proxy.client.chat.completions.create({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } }));
    expect(streamed.content).toBe(expected);
    expect(streamed.chunks.at(-1)!.usage?.completion_tokens).toBe(8);
    expect(upstream.requests.at(-1)!.json).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
    expect(upstream.requests.at(-1)!.json).not.toHaveProperty('echo');
  });

  it("sends a prefill as the client's own bytes with the two fields added (nothing re-serialized); one with proxy-only fields is rebuilt", async () => {
    // Spacing and key order a re-serialization would change.
    const raw = `{ "messages" : ${JSON.stringify(messages, null, 2)},\n  "model": "${MODEL}", "temperature": 0.0 }\n`;
    const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw });
    expect(response.status).toBe(200);
    expect(upstream.requests.at(-1)!.body).toBe(`${raw.trimEnd().slice(0, -1)},"continue_final_message":true,"add_generation_prompt":false}`);

    const marked = `{"model":"${MODEL}","messages":[{"role":"user","content":"Name a river."},{"role":"assistant","content":"The longest river is","prefix":true}]}`;
    expect((await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: marked })).status).toBe(200);
    const sent = upstream.requests.at(-1)!;
    expect(sent.body.startsWith('{"model"')).toBe(true);
    expect((sent.json!.messages as Array<Record<string, unknown>>).at(-1)).toEqual({ role: 'assistant', content: 'The longest river is' });
    expect(sent.json).toMatchObject({ continue_final_message: true, add_generation_prompt: false });
  });

  it('reports upstream and proxy time in Server-Timing on whole answers', async () => {
    const { response } = await proxy.client.chat.completions.create({ model: MODEL, messages }).withResponse();
    const timing = response.headers.get('server-timing') ?? '';
    const match = /^upstream;dur=(\d+\.\d\d), proxy;dur=(\d+\.\d\d)$/.exec(timing);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThan(0);
    const streamed = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages, stream: true }),
    });
    expect(streamed.headers.get('server-timing')).toBeNull();
    await streamed.text();
  });

  it('implements echo itself rather than forwarding it', async () => {
    const plain = await complete(proxy.client, { model: MODEL, messages, echo: true });
    expect(plain.choices[0]!.message.content).toBe(`The longest river is${expected}`);
    const stream = await streamed(proxy.client, { model: MODEL, messages, echo: true });
    expect(stream.content).toBe(`The longest river is${expected}`);
  });

  it('keeps the upstream status and message of a 404 for an unknown model', async () => {
    const error = await proxy.client.chat.completions.create({ model: 'no-such-model', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 404, message: expect.stringContaining('The model `no-such-model` does not exist.') });
  });

  it('a bare trailing assistant message in explicit mode goes through untouched (a new turn)', async () => {
    const { data, response } = await proxy.client.chat.completions
      .create({ model: MODEL, messages }, { headers: { 'x-prefill-mode': 'explicit' } })
      .withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(data.choices[0]!.message.content).toBe(greedyTokens(renderChatml(messages, { continueFinal: false, addGenerationPrompt: true })).join(''));
  });
});

describe('vLLM with the wrong upstream key', () => {
  it('passes the 401 on in OpenAI shape', async () => {
    const upstream = await startVllm({ apiKey: 'sk-right' });
    const proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_API_KEY: 'sk-wrong-key' });
    const error = await proxy.client.chat.completions.create({ model: MODEL, messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 401, message: expect.stringContaining('Unauthorized') });
    expect(JSON.stringify(error)).not.toContain('sk-wrong-key');
    await proxy.close();
    await upstream.close();
  });
});

describe('in front of OpenAI (no native prefill)', () => {
  let upstream: MockServer;
  let emulating: RunningProxy;
  let rejecting: RunningProxy;
  beforeAll(async () => {
    upstream = await startOpenAI({ repeatsPrefix: true, continuation: ' the Nile.' });
    emulating = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'openai' });
    rejecting = await startProxy({ UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'openai', PREFILL_FALLBACK: 'reject' });
  });
  afterAll(async () => {
    await emulating.close();
    await rejecting.close();
    await upstream.close();
  });

  it('emulates: the continuation only, the repeated prefix removed, x-prefill: emulated', async () => {
    const { data, response } = await emulating.client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('emulated');
    expect(data.choices[0]!.message.content).toBe(' the Nile.');
    const plainStream = await collect(await emulating.client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }));
    expect(plainStream.content).toBe(' the Nile.');
    const echoed = await streamed(emulating.client, { model: 'gpt-4o-mini', messages, echo: true });
    expect(echoed.content).toBe('The longest river is the Nile.');
  });

  it('never sends OpenAI the proxy-only fields it would reject', async () => {
    await complete(emulating.client, { model: 'gpt-4o-mini', messages, echo: true, continue_final_message: true });
    const sent = upstream.requests.at(-1)!.json!;
    expect(sent).not.toHaveProperty('echo');
    expect(sent).not.toHaveProperty('continue_final_message');
  });

  it('PREFILL_FALLBACK=reject answers 400 prefill_not_supported and calls nobody', async () => {
    const before = upstream.requests.length;
    const error = await rejecting.client.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'prefill_not_supported' });
    expect(upstream.requests.length).toBe(before);
  });

  it('an ordinary request is unaffected', async () => {
    const { data, response } = await rejecting.client.chat.completions.create({ model: 'gpt-4o-mini', messages: [messages[0]!] }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(data.choices[0]!.message.content).toBe('How can I help you today?');
  });

  it('a request marked "not a prefill" reaches OpenAI without the fields it would reject', async () => {
    const data = await complete(rejecting.client, {
      model: 'gpt-4o-mini',
      messages: [messages[0]!, { ...messages[1]!, prefix: false }],
      echo: true,
    });
    expect(data.choices[0]!.message.content).toBe('How can I help you today?');
    expect(upstream.requests.at(-1)!.json).not.toHaveProperty('echo');
  });
});
