import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from '../mocks/server.js';
import { startAnthropic } from '../mocks/anthropic.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';

const messages = [
  { role: 'user' as const, content: 'Count.' },
  { role: 'assistant' as const, content: 'One, two,' },
];
const ok = (content = ' three.') => ({
  id: 'c',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

let upstream: MockServer | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

describe('retries before any byte reached the client', () => {
  it('a 503 then a 200: the client sees the 200', async () => {
    let calls = 0;
    upstream = await startMockServer((_request, res) => (++calls === 1 ? sendJson(res, 503, { error: { message: 'busy' } }) : sendJson(res, 200, ok())));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRY_BASE_MS: '10' });
    const data = await proxy.client.chat.completions.create({ model: 'm', messages });
    expect(data.choices[0]!.message.content).toBe(' three.');
    expect(calls).toBe(2);
  });

  it("honours retry-after, and passes a 429 whose retry-after is too long on, with the header", async () => {
    let calls = 0;
    upstream = await startMockServer((request, res) => {
      calls++;
      const wait = request.json?.model === 'long' ? '3600' : '0.3';
      if (calls % 2 === 1) {
        res.setHeader('retry-after', wait);
        return sendJson(res, 429, { error: { message: 'Rate limit reached', type: 'rate_limit_error' } });
      }
      sendJson(res, 200, ok());
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm' });
    const started = Date.now();
    await proxy.client.chat.completions.create({ model: 'short', messages });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(calls).toBe(2);
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'long', messages }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3600');
    expect(await response.json()).toMatchObject({ error: { message: 'Rate limit reached', type: 'rate_limit_error' } });
    expect(calls).toBe(3);
  });

  it('a connection lost after the request was written is not retried (the model may be generating); 503 is, boundedly, and retries can be switched off', async () => {
    let calls = 0;
    upstream = await startMockServer((request, res) => {
      calls++;
      if (request.json?.model === 'always-reset') return void res.socket?.destroy();
      if (request.json?.model === 'always-busy' || calls === 1) return sendJson(res, 503, { error: { message: 'busy' } });
      sendJson(res, 200, ok());
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRY_BASE_MS: '10', UPSTREAM_RETRIES: '3' });
    const reset = await proxy.client.chat.completions.create({ model: 'always-reset', messages }).catch((err: unknown) => err);
    expect(reset).toMatchObject({ status: 502, code: 'upstream_connection_lost' });
    expect(calls).toBe(1);
    calls = 0;
    await proxy.client.chat.completions.create({ model: 'm', messages });
    expect(calls).toBe(2);
    calls = 0;
    const busy = await proxy.client.chat.completions.create({ model: 'always-busy', messages }).catch((err: unknown) => err);
    expect(busy).toMatchObject({ status: 503 });
    expect(calls).toBe(4);
    await proxy.close();
    calls = 0;
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRIES: '0' });
    await proxy.client.chat.completions.create({ model: 'always-busy', messages }).catch(() => undefined);
    expect(calls).toBe(1);
  });

  it('never once a stream began (a resume is the deliberate, counted exception: off here)', async () => {
    let calls = 0;
    upstream = await startMockServer(async (_request, res) => {
      calls++;
      startSse(res);
      writeEvent(res, { choices: [{ index: 0, delta: { content: ' three,' } }] });
      await new Promise((resolve) => setTimeout(resolve, 30));
      res.socket?.destroy();
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRY_BASE_MS: '10', RESUME_ATTEMPTS: '0' });
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages, stream: true }),
    });
    const text = await response.text();
    expect(text).toContain('three,');
    expect(text).toContain('upstream_connection_lost');
    expect(text).not.toContain('[DONE]');
    expect(calls).toBe(1);
  });
});

describe('upstream faults', () => {
  it('a host name that does not resolve → 502', async () => {
    proxy = await startProxy({ UPSTREAM_URL: 'http://no-such-upstream.invalid:8080', UPSTREAM_PROVIDER: 'vllm', UPSTREAM_RETRIES: '0' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 502, code: 'upstream_unreachable' });
  });

  it('malformed SSE, once streaming began, becomes an error event (while the proxy reads the stream)', async () => {
    upstream = await startMockServer((_request, res) => {
      startSse(res);
      // Still possibly the repeated prefix: the proxy is reading the events.
      writeEvent(res, { choices: [{ index: 0, delta: { content: 'One,' } }] });
      res.write('data: {"choices": [ this is not json\n\n');
      writeEvent(res, '[DONE]');
      res.end();
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const stream = await proxy.client.chat.completions.create({ model: 'm', messages, stream: true });
    const error = await (async () => {
      for await (const _chunk of stream) void _chunk;
    })().catch((err: unknown) => err);
    expect((error as { error?: { code?: string } }).error?.code).toBe('upstream_invalid_response');
  });

  it('a client that goes away mid-stream aborts the upstream: no socket left after 1000 aborted streams', async () => {
    upstream = await startLlamaCpp({ tokenDelayMs: 2000 });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const { port } = new URL(proxy.url);
    const body = JSON.stringify({ model: 'm', messages, stream: true });
    const request = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const abortOne = () =>
      new Promise<void>((resolve, reject) => {
        const socket = createConnection(Number(port), '127.0.0.1');
        socket.on('error', reject);
        socket.once('data', () => {
          // The first event arrived: the stream is running upstream. Go away.
          socket.destroy();
          resolve();
        });
        socket.write(request);
      });
    for (let batch = 0; batch < 20; batch++) await Promise.all(Array.from({ length: 50 }, abortOne));
    await expect.poll(() => upstream!.aborted(), { timeout: 10_000, interval: 100 }).toBe(1000);
    await expect.poll(async () => (await connectionCount(proxy!)) <= 1, { timeout: 5000 }).toBe(true);
  }, 60_000);
});

async function connectionCount(running: RunningProxy): Promise<number> {
  return new Promise((resolve, reject) => running.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));
}

describe("the client's own key, when configured", () => {
  it('UPSTREAM_KEY_FROM_CLIENT sends the key the client presented, in the provider\'s form', async () => {
    upstream = await startAnthropic({ apiKey: 'sk-ant-client-own' });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'anthropic', UPSTREAM_KEY_FROM_CLIENT: 'true' }, 'sk-ant-client-own');
    const data = await proxy.client.chat.completions.create({ model: 'claude-3-5-haiku-20241022', messages: [messages[0]!] });
    expect(data.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-ant-client-own');
    expect(upstream.requests[0]!.headers.authorization).toBeUndefined();
  });
});

describe('bad input never reaches the upstream', () => {
  it('deep nesting, binary garbage, invalid header values → 4xx naming the problem', async () => {
    upstream = await startMockServer((_request, res) => sendJson(res, 200, ok()));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm' });
    const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${proxy!.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

    const deep = `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}],"extra":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const deepResponse = await post(deep);
    expect(deepResponse.status).toBe(400);
    expect(await deepResponse.json()).toMatchObject({ error: { code: 'request_too_deep' } });
    // The bound is the door's, before any route: every door refuses it, in its own error shape.
    const deepMessages = await fetch(`${proxy.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"metadata":${'['.repeat(300)}${']'.repeat(300)}}`,
    });
    expect(deepMessages.status).toBe(400);
    expect(await deepMessages.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('MAX_JSON_DEPTH') } });

    const garbage = await post(Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x88, 0x7b]));
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toMatchObject({ error: { code: 'invalid_json' } });

    const badMode = await post(JSON.stringify({ messages }), { 'x-prefill-mode': 'sometimes' });
    expect(badMode.status).toBe(400);
    expect(await badMode.json()).toMatchObject({ error: { param: 'x-prefill-mode' } });

    expect(upstream.requests).toHaveLength(0);
  });
});
