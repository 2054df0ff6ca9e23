import { afterEach, describe, expect, it } from 'vitest';
import { startMockServer, startSse, writeEvent, type MockServer } from '../mocks/server.js';
import { collect, startProxy, type RunningProxy } from '../helpers/proxy.js';
import { REFUSING_UPSTREAM } from '../helpers/unreachable.js';

const messages = [
  { role: 'user' as const, content: 'Count.' },
  { role: 'assistant' as const, content: 'One, two,' },
];

const chunk = (content: string) => ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

describe('upstream failures reach the client as OpenAI errors', () => {
  let upstream: MockServer | undefined;
  let proxy: RunningProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await upstream?.close();
    proxy = undefined;
    upstream = undefined;
  });

  it('connection refused → 502', async () => {
    proxy = await startProxy({ UPSTREAM_URL: REFUSING_UPSTREAM, UPSTREAM_PROVIDER: 'vllm' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 502, code: 'upstream_unreachable' });
    const models = await fetch(`${proxy.url}/v1/models`);
    expect(models.status).toBe(502);
  });

  it('no headers in time → 504', async () => {
    upstream = await startMockServer(() => new Promise(() => {}));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_HEADERS_TIMEOUT_MS: '300' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 504, code: 'upstream_headers_timeout' });
  });

  for (const provider of ['vllm', 'llamacpp'] as const) {
    it(`an upstream that drops mid-stream gives the client an error, not a clean end (${provider}: ${provider === 'vllm' ? 'bytes piped' : 'stream rewritten'})`, async () => {
      upstream = await startMockServer(async (_request, res) => {
        startSse(res);
        writeEvent(res, chunk(' three,'));
        writeEvent(res, chunk(' four,'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        res.socket?.destroy();
      });
      // The error path itself: no resume (RESUME_ATTEMPTS=0), as issue 17 asks of such tests.
      proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: provider, RESUME_ATTEMPTS: '0' });
      const stream = await proxy.client.chat.completions.create({ model: 'm', messages, stream: true });
      let received = '';
      const error = await (async () => {
        for await (const part of stream) received += part.choices[0]?.delta?.content ?? '';
      })().catch((err: unknown) => err);
      expect(received).toBe(' three, four,');
      expect(error).toMatchObject({ message: expect.stringContaining('Upstream stream failed') });
      expect((error as { error?: { code?: string } }).error?.code).toBe('upstream_connection_lost');
    });
  }

  it('an upstream that goes quiet mid-stream → an error event after the idle timeout', async () => {
    upstream = await startMockServer(async (_request, res) => {
      startSse(res);
      writeEvent(res, chunk(' three,'));
      await new Promise((resolve) => setTimeout(resolve, 5000));
      res.end();
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_BODY_TIMEOUT_MS: '300' });
    const stream = await proxy.client.chat.completions.create({ model: 'm', messages, stream: true });
    const error = await collect(stream).catch((err: unknown) => err);
    expect((error as { error?: { code?: string } }).error?.code).toBe('upstream_body_timeout');
  });

  it('a streaming request answered with JSON → 502', async () => {
    upstream = await startMockServer((_request, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>gateway</html>');
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages, stream: true }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 502, code: 'upstream_invalid_response' });
  });

  it('an answer that is not JSON, when the proxy must rewrite it → 502', async () => {
    upstream = await startMockServer((_request, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // It holds the prefix, so the proxy must parse it to strip the repeat.
      res.end('{"choices": [{"message": {"content": "One, two, three');
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const error = await proxy.client.chat.completions.create({ model: 'm', messages }).catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 502, code: 'upstream_invalid_response' });
  });

  it('an upstream 500 with an HTML body keeps its status, in OpenAI shape', async () => {
    upstream = await startMockServer((_request, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'ollama' });
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages }),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { message: 'Service Unavailable', type: 'server_error', param: null, code: null } });
  });
});
