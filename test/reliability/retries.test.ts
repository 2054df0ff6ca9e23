/**
 * Class 6 — no duplicate POST. Once the upstream may have read a request, a lost connection is not a
 * reason to send it again: the model may already be generating (and billing) for it. Retries are for
 * what certainly did not reach the model: a refused connection, and 429/502/503 answers.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { REFUSING_UPSTREAM } from '../helpers/unreachable.js';
import { PLAIN_MESSAGES, PREFILL_MESSAGES, chatBody, closeProxy, completion, errorOf, freePort, postAndRead, sendJson, sleep, startUpstream, type RecordingUpstream } from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
let late: Server | undefined;
afterEach(async () => {
  await closeProxy(proxy);
  await upstream?.close();
  if (late) {
    late.closeAllConnections();
    await new Promise<void>((resolve) => late!.close(() => resolve()));
  }
  proxy = undefined;
  upstream = undefined;
  late = undefined;
});

describe('no duplicate POST', () => {
  for (const stream of [false, true]) {
    for (const [kindName, messages] of [
      ['not a prefill', PLAIN_MESSAGES],
      ['a prefill', PREFILL_MESSAGES],
    ] as const) {
      it(`${stream ? 'streamed' : 'non-streamed'} chat, ${kindName}: the upstream reads the whole request then drops the connection before any header → 502 upstream_connection_lost, sent exactly once (UPSTREAM_RETRIES=2 by default)`, async () => {
        upstream = await startUpstream((_request, res) => void res.socket?.destroy());
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_RETRY_BASE_MS: '10' });
        const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages, stream ? { stream: true } : {}), { timeoutMs: 4000 });
        await sleep(100);
        expect.soft({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: 502, code: 'upstream_connection_lost' });
        expect.soft(upstream.completed().filter((request) => request.url.includes('chat')).length, 'chat requests the upstream read whole (a prefill may first ask llama.cpp\'s /apply-template, which generates nothing)').toBe(1);
      });
    }
  }

  it('a 503 with retry-after: 0 is retried (the upstream counts 2 or 3 with the default UPSTREAM_RETRIES=2)', async () => {
    upstream = await startUpstream((_request, res) => sendJson(res, 503, { error: { message: 'busy' } }, { 'retry-after': '0' }));
    proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES), { timeoutMs: 4000 });
    expect(result.status).toBe(503);
    expect(upstream.completed().length).toBeGreaterThanOrEqual(2);
    expect(upstream.completed().length).toBeLessThanOrEqual(3);
  });

  it('connection refused → 502 upstream_unreachable', async () => {
    proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: REFUSING_UPSTREAM, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_RETRY_BASE_MS: '10' });
    const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES), { timeoutMs: 4000 });
    expect({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: 502, code: 'upstream_unreachable' });
  });

  it('connection refused is retried: an upstream that starts listening during the backoff answers', async () => {
    const port = await freePort();
    // The first backoff is between 200 and 400 ms; the upstream appears after 50 ms.
    proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: `http://127.0.0.1:${port}`, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_RETRY_BASE_MS: '400' });
    let received = 0;
    const answer = postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES), { timeoutMs: 4000 });
    await sleep(50);
    late = createServer((req, res) => {
      received++;
      req.resume();
      req.on('end', () => sendJson(res, 200, completion()));
    });
    await new Promise<void>((resolve) => late!.listen(port, '127.0.0.1', resolve));
    const result = await answer;
    expect(result.status).toBe(200);
    expect(received).toBe(1);
  });
});

describe('idle upstream connections', () => {
  /** An upstream that hints a long keep-alive and records each connection and who ended it. */
  async function keepAliveUpstream() {
    const connections: { endedByClient: boolean }[] = [];
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(completion()));
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      const record = { endedByClient: false };
      connections.push(record);
      socket.on('end', () => (record.endedByClient = true));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    late = server;
    return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, connections };
  }

  it('are closed by the proxy after UPSTREAM_KEEP_ALIVE_MS, before an upstream closing them could meet a request on them', async () => {
    const upstream = await keepAliveUpstream();
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm', UPSTREAM_KEEP_ALIVE_MS: '150' });
    expect((await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES))).status).toBe(200);
    await sleep(1200);
    expect(upstream.connections).toEqual([{ endedByClient: true }]);
    expect((await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES))).status).toBe(200);
    expect(upstream.connections).toHaveLength(2);
  });

  it('are reused within UPSTREAM_KEEP_ALIVE_MS (4 s by default)', async () => {
    const upstream = await keepAliveUpstream();
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'vllm' });
    for (let i = 0; i < 3; i++) {
      expect((await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES))).status).toBe(200);
      await sleep(300);
    }
    expect(upstream.connections).toEqual([{ endedByClient: false }]);
  });
});
