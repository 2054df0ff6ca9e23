import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import type { MockServer } from '../mocks/server.js';
import { collect, complete, startProxy, streamed, type RunningProxy } from '../helpers/proxy.js';

type Message = { role: 'system' | 'user' | 'assistant'; content: string | Array<{ type: 'text'; text: string }> };

const question: Message[] = [
  { role: 'system', content: 'You are a storyteller.' },
  { role: 'user', content: 'Tell me about a fox.' },
];

/** What llama.cpp's own raw route gives: /apply-template, then /completion, both through the proxy. */
async function rawRoute(proxy: RunningProxy, messages: Message[]): Promise<string> {
  const template = await fetch(`${proxy.url}/apply-template`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  expect(template.status).toBe(200);
  const { prompt } = (await template.json()) as { prompt: string };
  const completion = await fetch(`${proxy.url}/completion`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, n_predict: 8, temperature: 0 }),
  });
  return ((await completion.json()) as { content: string }).content;
}

for (const build of ['2025', '2026-09'] as const) {
  describe(`in front of a llama.cpp server (build ${build})`, () => {
    let upstream: MockServer;
    let proxy: RunningProxy;
    beforeAll(async () => {
      upstream = await startLlamaCpp({ build });
      proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    });
    afterAll(async () => {
      await proxy.close();
      await upstream.close();
    });

    const prefilled: Message[] = [...question, { role: 'assistant', content: 'Once upon a time, a fox' }];

    it('answers with the continuation only, equal to /apply-template + /completion', async () => {
      const expected = await rawRoute(proxy, prefilled);
      expect(expected.length).toBeGreaterThan(0);
      const { data, response } = await proxy.client.chat.completions.create({ model: 'any', messages: prefilled, temperature: 0 }).withResponse();
      expect(response.headers.get('x-prefill')).toBe('native');
      expect(data.choices[0]!.message.content).toBe(expected);
    });

    it('streams the same continuation', async () => {
      const expected = await rawRoute(proxy, prefilled);
      const { content, finishReason } = await collect(
        await proxy.client.chat.completions.create({ model: 'any', messages: prefilled, temperature: 0, stream: true }),
      );
      expect(content).toBe(expected);
      expect(finishReason).toBe('stop');
    });

    it('with echo: prefix + continuation, streamed and not', async () => {
      const expected = 'Once upon a time, a fox' + (await rawRoute(proxy, prefilled));
      const plain = await complete(proxy.client, { model: 'any', messages: prefilled, echo: true });
      expect(plain.choices[0]!.message.content).toBe(expected);
      const stream = await streamed(proxy.client, { model: 'any', messages: prefilled, echo: true });
      expect(stream.content).toBe(expected);
    });

    it('sends content parts as one string (llama.cpp would put a blank line between them)', async () => {
      const parts: Message[] = [...question, { role: 'assistant', content: [{ type: 'text', text: 'Once upon a time, ' }, { type: 'text', text: 'a fox' }] }];
      const expected = await rawRoute(proxy, prefilled);
      const data = await complete(proxy.client, { model: 'any', messages: parts });
      expect(data.choices[0]!.message.content).toBe(expected);
      expect((upstream.requests.at(-1)!.json!.messages as Message[]).at(-1)).toEqual({ role: 'assistant', content: 'Once upon a time, a fox' });
    });

    it('merges two trailing assistant messages instead of passing on llama.cpp\'s 400', async () => {
      const twoTurns: Message[] = [...question, { role: 'assistant', content: 'Let me think.' }, { role: 'assistant', content: 'Once upon a time' }];
      const merged: Message[] = [...question, { role: 'assistant', content: 'Let me think.\n\nOnce upon a time' }];
      const expected = await rawRoute(proxy, merged);
      const data = await proxy.client.chat.completions.create({ model: 'any', messages: twoTurns });
      expect(data.choices[0]!.message.content).toBe(expected);
      const streamed = await collect(await proxy.client.chat.completions.create({ model: 'any', messages: twoTurns, stream: true }));
      expect(streamed.content).toBe(expected);
    });

    it('forwards a request that is not a prefill byte for byte', async () => {
      const body = '{"model":"any",  "messages":[{"role":"user","content":"Hi"}],"n_probs":0}';
      const response = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-prefill')).toBe('none');
      expect(upstream.requests.at(-1)!.body).toBe(body);
    });
  });
}

describe('llama.cpp quirks', () => {
  let upstream: MockServer | undefined;
  let proxy: RunningProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await upstream?.close();
  });
  const prefilled: Message[] = [...question, { role: 'assistant', content: 'Once upon a time' }];

  it('continues even on a server started with --no-prefill-assistant', async () => {
    upstream = await startLlamaCpp({ build: '2026-09', prefillAssistant: false });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    // The raw route on such a server closes the assistant turn, so compute the open-ended prompt's answer
    // with a prefill-enabled twin of the same model.
    const twin = await startLlamaCpp({ build: '2026-09' });
    const twinProxy = await startProxy({ UPSTREAM_URL: twin.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const expected = await rawRoute(twinProxy, prefilled);
    await twinProxy.close();
    await twin.close();
    const data = await proxy.client.chat.completions.create({ model: 'any', messages: prefilled });
    expect(data.choices[0]!.message.content).toBe(expected);
  });

  it('retries with enable_thinking=false when an old build refuses prefill for a thinking model', async () => {
    upstream = await startLlamaCpp({ build: '2025', thinkingModel: true });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const data = await proxy.client.chat.completions.create({ model: 'any', messages: prefilled });
    expect(data.choices[0]!.message.content?.length).toBeGreaterThan(0);
    const chats = upstream.requests.filter((request) => request.url === '/v1/chat/completions');
    expect(chats).toHaveLength(2);
    expect(chats[1]!.json!.chat_template_kwargs).toEqual({ enable_thinking: false });
  });

  it('passes llama.cpp errors on with their status and message', async () => {
    upstream = await startLlamaCpp({ build: '2026-09' });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', PREFILL_MODE: 'off' });
    const twoTurns = [...prefilled, { role: 'assistant', content: 'again' }];
    const error = await complete(proxy.client, { model: 'any', messages: twoTurns }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, message: expect.stringContaining('Cannot have 2 or more assistant messages') });
  });

  it('sends UPSTREAM_API_KEY, never the client key, and streams the raw routes through', async () => {
    upstream = await startLlamaCpp({ apiKey: 'sk-upstream-secret' });
    proxy = await startProxy(
      { UPSTREAM_URL: `${upstream.url}/v1`, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_API_KEY: 'sk-upstream-secret', PROXY_API_KEYS: 'sk-client' },
      'sk-client',
    );
    const data = await proxy.client.chat.completions.create({ model: 'any', messages: prefilled });
    expect(data.choices[0]!.message.content?.length).toBeGreaterThan(0);
    for (const request of upstream.requests) {
      expect(request.headers.authorization).toBe('Bearer sk-upstream-secret');
      expect(JSON.stringify(request.headers)).not.toContain('sk-client');
    }
    const embeddings = await proxy.client.embeddings.create({ model: 'any', input: 'fox', encoding_format: 'float' });
    expect(embeddings.data[0]!.embedding).toEqual([0.125, -0.25, 0.5]);
    const streamed = await fetch(`${proxy.url}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-client' },
      body: JSON.stringify({ prompt: 'Once', stream: true }),
    });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    expect((await streamed.text()).match(/^data: /gm)?.length).toBe(9);
    const models = await proxy.client.models.list();
    expect(models.data[0]!.id).toBe('stories260K.gguf');
  });

  it('aborts the upstream request when the client goes away mid-stream', async () => {
    upstream = await startLlamaCpp({ tokenDelayMs: 5000 });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const controller = new AbortController();
    const stream = await proxy.client.chat.completions.create({ model: 'any', messages: prefilled, stream: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await iterator.next().catch(() => undefined);
    // Well before the next token (5 s away) would have revealed the disconnect.
    await expect.poll(() => upstream!.aborted(), { timeout: 1500 }).toBe(1);
  });
});
