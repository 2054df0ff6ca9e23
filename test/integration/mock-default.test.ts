import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOCK_CONTINUATION, MOCK_REPLY } from '../../src/providers/mock/model.js';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

/** The zero-configuration experience: the built-in mock, driven by the official OpenAI SDK. */
describe('with no configuration (built-in mock)', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(() => proxy.close());

  const story = [
    { role: 'user' as const, content: 'Tell me a story.' },
    { role: 'assistant' as const, content: 'Once upon a time' },
  ];

  it('continues a trailing assistant message and says so in x-prefill', async () => {
    const { data, response } = await proxy.client.chat.completions.create({ model: 'mock-1', messages: story }).withResponse();
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(data.choices[0]!.message.content).toBe(MOCK_CONTINUATION);
    expect(data.choices[0]!.finish_reason).toBe('stop');
  });

  it('streams the same continuation, ending with [DONE]', async () => {
    const stream = await proxy.client.chat.completions.create({ model: 'mock-1', messages: story, stream: true });
    const { content, chunks, finishReason } = await collect(stream);
    expect(content).toBe(MOCK_CONTINUATION);
    expect(finishReason).toBe('stop');
    expect(chunks.length).toBeGreaterThan(5);
  });

  it('echo: prefix + continuation, streamed and not', async () => {
    const plain = await complete(proxy.client, { model: 'mock-1', messages: story, echo: true });
    expect(plain.choices[0]!.message.content).toBe(`Once upon a time${MOCK_CONTINUATION}`);
    const stream = await streamed(proxy.client, { model: 'mock-1', messages: story, echo: true });
    expect(stream.content).toBe(`Once upon a time${MOCK_CONTINUATION}`);
  });

  it('honours stream_options.include_usage', async () => {
    const stream = await proxy.client.chat.completions.create({
      model: 'mock-1',
      messages: story,
      stream: true,
      stream_options: { include_usage: true },
    });
    const { chunks } = await collect(stream);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(11);
  });

  it('x-prefill-mode: explicit treats a bare trailing assistant message as a finished turn', async () => {
    const { data, response } = await proxy.client.chat.completions
      .create({ model: 'mock-1', messages: story }, { headers: { 'x-prefill-mode': 'explicit' } })
      .withResponse();
    expect(response.headers.get('x-prefill')).toBe('none');
    expect(data.choices[0]!.message.content).toBe(MOCK_REPLY);
  });

  it('prefix: true is a prefill in explicit mode; prefix: false never is', async () => {
    const flagged = await proxy.client.chat.completions
      .create(
        { model: 'mock-1', messages: [story[0]!, { role: 'assistant', content: 'Once upon a time', prefix: true } as ChatCompletionMessageParam] },
        { headers: { 'x-prefill-mode': 'explicit' } },
      )
      .withResponse();
    expect(flagged.response.headers.get('x-prefill')).toBe('native');
    expect(flagged.data.choices[0]!.message.content).toBe(MOCK_CONTINUATION);
    const refused = await proxy.client.chat.completions
      .create({ model: 'mock-1', messages: [story[0]!, { role: 'assistant', content: 'Once upon a time', prefix: false } as ChatCompletionMessageParam] })
      .withResponse();
    expect(refused.response.headers.get('x-prefill')).toBe('none');
  });

  it('a bad x-prefill-mode is a 400 naming the header', async () => {
    const error = await proxy.client.chat.completions
      .create({ model: 'mock-1', messages: story }, { headers: { 'x-prefill-mode': 'always' } })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, param: 'x-prefill-mode', code: 'invalid_prefill_mode' });
  });

  it('lists the mock model', async () => {
    const models = await proxy.client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['mock-1', 'mock-thinker']);
  });

  it('answers /health, /ready and the path without /v1', async () => {
    expect(await (await fetch(`${proxy.url}/health`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${proxy.url}/ready`)).status).toBe(200);
    const response = await fetch(`${proxy.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: story }),
    });
    expect(response.headers.get('x-prefill')).toBe('native');
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content).toBe(MOCK_CONTINUATION);
  });
});

describe('bad input gets an OpenAI-shaped 4xx', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy({ BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(() => proxy.close());

  const post = (body: string, contentType = 'application/json') =>
    fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': contentType }, body });

  const cases: Array<[string, () => Promise<Response>, number, string | null]> = [
    ['invalid JSON', () => post('{"messages": ['), 400, null],
    ['empty body', () => post(''), 400, null],
    ['no messages', () => post('{"model":"m"}'), 400, 'messages'],
    ['empty messages', () => post('{"messages":[]}'), 400, 'messages'],
    ['unknown role', () => post('{"messages":[{"role":"wizard","content":"x"}]}'), 400, 'messages[0].role'],
    ['content of the wrong type', () => post('{"messages":[{"role":"user","content":42}]}'), 400, 'messages[0].content'],
    ['stream not a boolean', () => post('{"stream":"yes","messages":[{"role":"user","content":"x"}]}'), 400, 'stream'],
    ['a JSON array body', () => post('[1,2]'), 400, null],
    ['wrong content type', () => post('messages=hello', 'text/plain'), 415, 'content-type'],
    ['body over the limit', () => post(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] })), 413, null],
  ];
  for (const [name, send, status, param] of cases) {
    it(`${name} → ${status}`, async () => {
      const response = await send();
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: unknown } };
      expect(typeof body.error.message).toBe('string');
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(typeof body.error.type).toBe('string');
      expect(body.error.param).toBe(param);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    });
  }
});

describe('PROXY_API_KEYS', () => {
  let proxy: RunningProxy;
  beforeAll(async () => {
    proxy = await startProxy({ PROXY_API_KEYS: 'sk-client-one,sk-client-two' }, 'sk-client-two');
  });
  afterAll(() => proxy.close());

  it('accepts a listed key as Bearer or x-api-key', async () => {
    const data = await proxy.client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] });
    expect(data.choices[0]!.message.content).toBe(MOCK_REPLY);
    const viaHeader = await fetch(`${proxy.url}/v1/models`, { headers: { 'x-api-key': 'sk-client-one' } });
    expect(viaHeader.status).toBe(200);
  });

  it('refuses a missing or wrong key with 401, without echoing the key', async () => {
    const missing = await fetch(`${proxy.url}/v1/models`);
    expect(missing.status).toBe(401);
    const wrong = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: 'Bearer sk-guess-123' } });
    expect(wrong.status).toBe(401);
    const text = await wrong.text();
    expect(text).not.toContain('sk-guess-123');
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'invalid_api_key', type: 'authentication_error' } });
  });

  it('leaves /health and /ready open for probes', async () => {
    expect((await fetch(`${proxy.url}/health`)).status).toBe(200);
    expect((await fetch(`${proxy.url}/ready`)).status).toBe(200);
  });
});
