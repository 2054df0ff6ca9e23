/**
 * Guards for behaviour that holds today and must survive the fixes: a client that goes away aborts its
 * upstream request, and request smuggling attempts are refused before anything is forwarded.
 */
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { startLlamaCpp } from '../mocks/llamacpp.js';
import type { MockServer } from '../mocks/server.js';
import { PREFILL_MESSAGES, closeProxy, completion, portOf, rawRequest, sendJson, startUpstream, type RecordingUpstream } from './support.js';

let mock: MockServer | undefined;
let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await closeProxy(proxy);
  await mock?.close();
  await upstream?.close();
  proxy = undefined;
  mock = undefined;
  upstream = undefined;
});

describe('a client that goes away', () => {
  it('100 streams aborted mid-way leave no upstream request open', async () => {
    mock = await startLlamaCpp({ tokenDelayMs: 2000 });
    proxy = await startProxy({ UPSTREAM_URL: mock.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const port = portOf(proxy.url);
    const body = JSON.stringify({ model: 'm', messages: PREFILL_MESSAGES, stream: true });
    const request = `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const abortOne = () =>
      new Promise<void>((resolve, reject) => {
        const socket = createConnection(port, '127.0.0.1');
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error('no first event within 3 s'));
        }, 3000);
        socket.on('error', () => undefined);
        socket.once('data', () => {
          clearTimeout(timer);
          socket.destroy();
          resolve();
        });
        socket.write(request);
      });
    await Promise.all(Array.from({ length: 100 }, abortOne));
    await expect.poll(() => mock!.aborted(), { timeout: 5000, interval: 50 }).toBe(100);
  }, 15_000);
});

describe('request smuggling', () => {
  const attempts = {
    'transfer-encoding: chunked with a conflicting content-length': 'transfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n',
    'two different content-length headers': 'content-length: 2\r\ncontent-length: 30\r\n\r\n{}',
    'two equal content-length headers': 'content-length: 2\r\ncontent-length: 2\r\n\r\n{}',
    'content-length with a comma list': 'content-length: 2, 30\r\n\r\n{}',
  };
  for (const [name, tail] of Object.entries(attempts)) {
    for (const path of ['/v1/embeddings', '/v1/chat/completions']) {
      it(`${name} on ${path}: 400, nothing forwarded`, async () => {
        upstream = await startUpstream((_request, res) => sendJson(res, 200, completion()));
        proxy = await startProxy({ UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
        const response = await rawRequest(portOf(proxy.url), `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${tail}`, { timeoutMs: 2000 });
        expect(response?.status).toBe(400);
        expect(upstream.started).toHaveLength(0);
      });
    }
  }
});
