/**
 * The passthrough route (every path the proxy does not handle itself).
 * Class 4 — it stays under the upstream's base path: no dot segment, encoded or not, and no
 * absolute-form request line gets out of `/gw/llama`.
 * Class 9 — BODY_LIMIT_BYTES holds on it too, without reading the body first.
 * PASSTHROUGH_MAX_IN_FLIGHT — above it, 503 `passthrough_busy` with `retry-after`.
 */
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import {
  PLAIN_MESSAGES,
  chatBody,
  closeProxy,
  completion,
  errorOf,
  parseResponse,
  portOf,
  rawRequest,
  sendJson,
  sleep,
  startUpstream,
  type RawResponse,
  type RecordingUpstream,
} from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const get = (port: number, target: string) => rawRequest(port, `GET ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);

describe('passthrough stays under its base path', () => {
  const escapes = [
    '/../../admin',
    '/v1/../../admin',
    '/%2e%2e/admin',
    '/%2E%2E/%2e%2e/admin',
    '/v1/%2e%2e%2f%2e%2e%2fadmin',
    '/./../x',
    '/..\\admin',
    'http://evil.example/x',
  ];

  it('dot segments (plain, encoded, with encoded slashes, backslashes) and an absolute-form request line: 400 invalid_path, nothing reaches the upstream', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, { url: request.url }));
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/gw/llama`, UPSTREAM_PROVIDER: 'llamacpp' });
    const port = portOf(proxy.url);
    const problems: string[] = [];
    for (const target of escapes) {
      const response = await get(port, target);
      if (response?.status !== 400) problems.push(`${target}: ${response?.status ?? 'no answer'}`);
      else if (errorOf(response.body)?.code !== 'invalid_path') problems.push(`${target}: 400 without code invalid_path (${response.body.slice(0, 80)})`);
    }
    const reached = upstream.started.map((request) => request.url);
    expect({ problems, reached }).toEqual({ problems: [], reached: [] });
  });

  it('ordinary paths arrive under the base path: /completion → /gw/llama/completion, /v1/embeddings → /gw/llama/v1/embeddings', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, { url: request.url }));
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/gw/llama`, UPSTREAM_PROVIDER: 'llamacpp' });
    for (const [path, expected] of [
      ['/completion', '/gw/llama/completion'],
      ['/v1/embeddings', '/gw/llama/v1/embeddings'],
    ] as const) {
      const response = await fetch(`${proxy.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"x"}' });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ url: expected });
    }
    expect(upstream.started.map((request) => request.url)).toEqual(['/gw/llama/completion', '/gw/llama/v1/embeddings']);
  });

  it('a harmless /v1/./embeddings is normalised to /gw/llama/v1/embeddings or refused, never sent with a dot segment', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, { url: request.url }));
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/gw/llama`, UPSTREAM_PROVIDER: 'llamacpp' });
    const response = await get(portOf(proxy.url), '/v1/./embeddings');
    const reached = upstream.started.map((request) => request.url);
    if (response?.status === 400) {
      expect(errorOf(response.body)?.code).toBe('invalid_path');
      expect(reached).toEqual([]);
    } else {
      expect(reached).toEqual(['/gw/llama/v1/embeddings']);
    }
  });

  it('(extra) an asterisk-form request line (OPTIONS *) is not forwarded as /gw/llama*', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, { url: request.url }));
    proxy = await startProxy({ UPSTREAM_URL: `${upstream.url}/gw/llama`, UPSTREAM_PROVIDER: 'llamacpp' });
    const response = await rawRequest(portOf(proxy.url), 'OPTIONS * HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    expect(response?.status).toBeGreaterThanOrEqual(400);
    expect(response?.status).toBeLessThan(500);
    expect(upstream.started.map((request) => request.url)).toEqual([]);
  });
});

/**
 * Opens a raw upload and writes the body lazily (64 KB at a time, waiting for drain) until a response
 * arrives, `maxBytes` were written or the socket closed. `finish` is written at the end if no response came.
 */
function lazyUpload(port: number, head: string, piece: (n: number) => Buffer, maxBytes: number, finish = '', waitAfterMs = 3000) {
  return new Promise<{ response: RawResponse | undefined; written: number; respondedAfterMs: number | undefined; socketError: string | undefined }>((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    let written = 0;
    let respondedAt: number | undefined;
    let socketError: string | undefined;
    const started = performance.now();
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      const parsed = parseResponse(received, false, true);
      socket.destroy();
      resolve({
        response: parsed ? { ...parsed, elapsedMs: (respondedAt ?? performance.now()) - started } : undefined,
        written,
        respondedAfterMs: respondedAt === undefined ? undefined : respondedAt - started,
        socketError,
      });
    };
    socket.on('data', (data: Buffer) => {
      respondedAt ??= performance.now();
      received = Buffer.concat([received, data]);
      if (parseResponse(received, false, false)) settle();
    });
    socket.on('close', () => setTimeout(settle, 20));
    socket.on('error', (err) => (socketError ??= err.message));
    socket.once('connect', async () => {
      socket.write(head);
      // A proxy that decides on the headers answers before any body byte is sent.
      await sleep(20);
      let n = 0;
      while (written < maxBytes && respondedAt === undefined && !socket.destroyed) {
        const part = piece(n++);
        written += part.length;
        if (!socket.write(part)) {
          await new Promise<void>((resolveDrain) => {
            const go = () => {
              socket.off('drain', go);
              socket.off('close', go);
              resolveDrain();
            };
            socket.once('drain', go);
            socket.once('close', go);
          });
        }
        // Lazily: give the proxy time to answer (and the client time to read it) between pieces.
        await sleep(2);
      }
      if (respondedAt === undefined && !socket.destroyed) socket.write(finish);
      setTimeout(settle, waitAfterMs);
    });
  });
}

describe('BODY_LIMIT_BYTES on passthrough', () => {
  const A64K = Buffer.alloc(64 * 1024, 'a');

  it('content-length: 200000000 on POST /v1/embeddings → 413 request_too_large at once; the upstream receives nothing', async () => {
    upstream = await startUpstream((_request, res) => sendJson(res, 200, { object: 'list', data: [] }));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', BODY_LIMIT_BYTES: '1000000' });
    const head = 'POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 200000000\r\n\r\n';
    // Never 200 MB: at most 8 MB is written, lazily, and writing stops at the first response byte.
    const { response, written, respondedAfterMs, socketError } = await lazyUpload(portOf(proxy.url), head, () => A64K, 8 * 1024 * 1024, '', 1000);
    expect(response?.status, `no answer after ${written} bytes written (${socketError ?? 'no socket error'})`).toBe(413);
    expect(errorOf(response!.body)?.code).toBe('request_too_large');
    expect(respondedAfterMs).toBeLessThan(1000);
    expect(upstream.started).toHaveLength(0);
  }, 10_000);

  it('a chunked upload that goes past the limit → 413; the upstream receives nothing, or only an aborted request', async () => {
    upstream = await startUpstream((_request, res) => sendJson(res, 200, { object: 'list', data: [] }));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', BODY_LIMIT_BYTES: '1000000' });
    const head = 'POST /v1/embeddings HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
    const chunkOf = () => Buffer.concat([Buffer.from(`${A64K.length.toString(16)}\r\n`), A64K, Buffer.from('\r\n')]);
    // 3 MB (three times the limit), then the last chunk if the proxy has still said nothing.
    const { response, written, socketError } = await lazyUpload(portOf(proxy.url), head, chunkOf, 3 * 1024 * 1024, '0\r\n\r\n', 1000);
    expect(response?.status, `answer after ${written} bytes written (${socketError ?? 'no socket error'})`).toBe(413);
    expect(errorOf(response!.body)?.code).toBe('request_too_large');
    await sleep(100);
    expect(upstream.completed(), 'the upstream received a complete request').toHaveLength(0);
  }, 10_000);

  it('a body within the limit still goes through', async () => {
    upstream = await startUpstream((request, res) => sendJson(res, 200, { bytes: request.body.length }));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', BODY_LIMIT_BYTES: '1000000' });
    const body = JSON.stringify({ input: 'a'.repeat(900_000) });
    const response = await fetch(`${proxy.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ bytes: body.length });
  });
});

describe('PASSTHROUGH_MAX_IN_FLIGHT', () => {
  it('=2: a third concurrent passthrough request → 503 passthrough_busy with retry-after, not forwarded; chat is not counted; a slot frees when one ends', async () => {
    const held: Array<() => void> = [];
    upstream = await startUpstream(async (request, res) => {
      if (request.url.includes('chat')) return sendJson(res, 200, completion());
      await new Promise<void>((resolve) => held.push(resolve));
      sendJson(res, 200, { object: 'list', data: [] });
    });
    cleanups.push(() => held.splice(0).forEach((release) => release()));
    proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', PASSTHROUGH_MAX_IN_FLIGHT: '2' });
    const gone = new AbortController();
    cleanups.unshift(() => gone.abort());
    const embed = (timeoutMs = 3000) => {
      const signal = AbortSignal.any([gone.signal, AbortSignal.timeout(timeoutMs)]);
      const response = fetch(`${proxy!.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":"x"}', signal });
      response.catch(() => undefined);
      return response;
    };
    const first = embed();
    const second = embed();
    await expect.poll(() => upstream!.started.length, { timeout: 2000 }).toBe(2);

    const third = await embed(1000).catch((err: unknown) => err as Error);
    expect(third, 'the third request was held instead of refused').not.toBeInstanceOf(Error);
    const thirdResponse = third as Response;
    expect(thirdResponse.status).toBe(503);
    expect(thirdResponse.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await thirdResponse.json()) as { error: { code: string } }).error.code).toBe('passthrough_busy');
    expect(upstream.started).toHaveLength(2);

    const chat = await fetch(`${proxy.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody(PLAIN_MESSAGES), signal: AbortSignal.timeout(2000) });
    expect(chat.status).toBe(200);

    // One of the two ends: its slot is free again.
    held.shift()!();
    expect((await Promise.race([first, second])).status).toBe(200);
    const fourth = embed();
    await expect.poll(() => upstream!.started.filter((request) => request.url === '/v1/embeddings').length, { timeout: 2000 }).toBe(3);
    held.splice(0).forEach((release) => release());
    for (const response of await Promise.all([first, second, fourth])) expect(response.status).toBe(200);
  }, 15_000);
});
