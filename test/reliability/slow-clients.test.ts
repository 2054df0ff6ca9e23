/**
 * Class 1 — slow uploads must not starve chat. A client that trickles a request body holds whatever
 * the proxy gives it (a socket, a passthrough slot, an upstream connection) for as long as it likes;
 * REQUEST_TIMEOUT_MS bounds how long a request's headers and body may take to arrive.
 */
import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { PLAIN_MESSAGES, chatBody, closeProxy, completion, errorOf, portOf, sendJson, sleep, startUpstream, type RecordingUpstream } from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();

afterEach(async () => {
  for (const timer of timers) clearInterval(timer);
  timers.clear();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** Opens a raw connection, writes `head` and a few body bytes, and resolves once connected. */
function slowClient(port: number, head: string, firstBytes: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.once('connect', () => {
      socket.write(head + firstBytes);
      resolve(socket);
    });
  });
}

/** Writes one byte every `everyMs` to each socket still open. */
function trickle(everyMs: number): void {
  const timer = setInterval(() => {
    for (const socket of sockets) if (!socket.destroyed && socket.writable) socket.write('a');
  }, everyMs);
  timers.add(timer);
}

describe('slow uploads must not starve chat', () => {
  it('300 slow POST /v1/embeddings and keyless POST /metrics uploads in flight: a chat completion answers within 1 s (defaults)', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, request.url.includes('chat') ? completion() : { object: 'list', data: [] }));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const port = portOf(proxy.url);

    const embeddings = 'POST /v1/embeddings HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    const metrics = 'POST /metrics HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n';
    await Promise.all([
      ...Array.from({ length: 300 }, () => slowClient(port, embeddings, '{"input":"')),
      ...Array.from({ length: 30 }, () => slowClient(port, metrics, '{"x":"')),
    ]);
    trickle(2000);
    // Let the proxy do whatever it does with them (forward them upstream, queue them, refuse them).
    await sleep(400);

    const started = performance.now();
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(PLAIN_MESSAGES),
      signal: AbortSignal.timeout(1500),
    }).catch((err: unknown) => err as Error);
    const elapsed = performance.now() - started;
    expect(response, `the chat request got no answer within 1.5 s (${response instanceof Error ? response.message : ''})`).not.toBeInstanceOf(Error);
    expect((response as Response).status).toBe(200);
    expect(((await (response as Response).json()) as ReturnType<typeof completion>).choices).toBeDefined();
    expect(elapsed).toBeLessThan(1000);
  }, 15_000);

  it('REQUEST_TIMEOUT_MS=1000: a stalled request body (passthrough and chat routes) is cut within ~2 s (408 or closed) and no complete request reaches the upstream', async () => {
    upstream = await startUpstream((_request, res) => sendJson(res, 200, completion()));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', REQUEST_TIMEOUT_MS: '1000' });
    const port = portOf(proxy.url);

    /** Sends headers and the start of a 1000-byte body, then nothing; reports when the proxy answered or closed. */
    const stall = async (path: string) => {
      const socket = createConnection(port, '127.0.0.1');
      sockets.add(socket);
      socket.on('error', () => undefined);
      let received = '';
      let answeredAt: number | undefined;
      socket.on('data', (data: Buffer) => {
        answeredAt ??= performance.now();
        received += data.toString('latin1');
      });
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const started = performance.now();
      socket.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":"m",`);
      // The client never sends the rest. Wait up to 2.6 s for the proxy to give up on it.
      const closedAt = await Promise.race([closed, sleep(2600).then(() => undefined)]);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
      const cutAt = closedAt ?? (status === '408' ? answeredAt : undefined);
      return { path, status: status ?? null, cutAfterMs: cutAt === undefined ? null : Math.round(cutAt - started) };
    };

    const results = await Promise.all([stall('/v1/embeddings'), stall('/v1/chat/completions')]);
    for (const result of results) {
      expect.soft(result.cutAfterMs, `${result.path}: neither 408 nor closed within 2.6 s`).not.toBeNull();
      expect.soft(result.cutAfterMs ?? Infinity, `${result.path}: cut after ${result.cutAfterMs} ms`).toBeLessThan(2500);
      if (result.status !== null) expect.soft(result.status, `${result.path}: answered`).toBe('408');
    }
    // Whatever the proxy may have started upstream (a streamed passthrough body), the upstream never
    // got a whole request to act on; the chat route reads its body before calling the upstream at all.
    await sleep(100);
    expect.soft(upstream.completed().map((request) => request.url), 'complete requests at the upstream').toEqual([]);
    expect.soft(upstream.started.filter((request) => request.url.includes('chat')).length, 'chat requests at the upstream').toBe(0);
  }, 10_000);

  it('REQUEST_TIMEOUT_MS does not cut a long response: a stream that outlives it still finishes', async () => {
    upstream = await startUpstream(async (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 5; i++) {
        res.write(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: ` ${i}` }, finish_reason: null }] })}\n\n`);
        await sleep(250);
      }
      res.end('data: [DONE]\n\n');
    });
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', REQUEST_TIMEOUT_MS: '1000' });
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(PLAIN_MESSAGES, { stream: true }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    expect(text).toContain('data: [DONE]');
    expect(errorOf(text)).toBeUndefined();
  }, 10_000);
});
