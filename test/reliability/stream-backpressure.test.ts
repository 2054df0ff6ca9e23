/**
 * A streamed answer keeps to the client's pace: when the client stops reading, the proxy stops
 * reading the upstream (its memory does not fill with what the client has not taken), and when the
 * client reads again the answer goes on, whole. For each way a stream is written: bytes passed
 * untouched from the start (vLLM), rewritten and then passed (llama.cpp with a prefill), and every
 * event re-encoded (the Messages door in front of an OpenAI-style upstream).
 */
import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { MB, PREFILL_MESSAGES, ROLE_CHUNK, chunk, closeProxy, portOf, sendJson, sleep, sse, startSse, startUpstream, type RecordingUpstream } from './support.js';

/** The upstream's answer: this many bytes of content events, far more than socket buffers hold. */
const ANSWER_BYTES = 64 * MB;
const PIECE = 'x'.repeat(4000);

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** An upstream that streams ANSWER_BYTES of content as fast as it is read (waiting for drain), counting what it wrote. */
async function fastStreamingUpstream(): Promise<{ written: () => number; finished: () => boolean }> {
  let written = 0;
  let finished = false;
  upstream = await startUpstream(async (request, res) => {
    // Only the answer streams (llama.cpp's template probe, /apply-template, is told there is none).
    if (!request.url.endsWith('/chat/completions')) return sendJson(res, 404, { error: { message: 'not here' } });
    startSse(res);
    res.write(sse(ROLE_CHUNK));
    const event = sse(chunk(PIECE));
    while (written < ANSWER_BYTES && !res.destroyed) {
      written += event.length;
      if (!res.write(event)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.write(sse({ ...chunk(''), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    res.end(sse('[DONE]'));
    finished = true;
  });
  return { written: () => written, finished: () => finished };
}

/** Sends a POST on a raw socket that is not read from until `read()` is called. */
function pausedClient(port: number, path: string, body: string): { socket: Socket; read: () => Promise<string> } {
  const socket = createConnection(port, '127.0.0.1');
  sockets.push(socket);
  socket.pause();
  socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  const read = () =>
    new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      socket.on('data', (part: Buffer) => parts.push(part));
      socket.once('end', () => resolve(Buffer.concat(parts).toString('latin1')));
      socket.once('error', reject);
      socket.resume();
    });
  return { socket, read };
}

const cases = [
  { name: 'passed untouched (vllm)', provider: 'vllm', path: '/v1/chat/completions', marker: 'data: [DONE]' },
  { name: 'rewritten, then passed (llamacpp, prefill)', provider: 'llamacpp', path: '/v1/chat/completions', marker: 'data: [DONE]' },
  { name: 'every event re-encoded (Messages door on vllm)', provider: 'vllm', path: '/v1/messages', marker: 'event: message_stop' },
] as const;

describe('streamed answers keep to the client pace', () => {
  for (const c of cases) {
    it(`${c.name}: a client that stops reading holds the upstream back; reading again, it gets the whole answer`, async () => {
      const source = await fastStreamingUpstream();
      proxy = await startProxy({ UPSTREAM_URL: upstream!.url, UPSTREAM_PROVIDER: c.provider });
      const body =
        c.path === '/v1/messages'
          ? JSON.stringify({ model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Count.' }] })
          : JSON.stringify({ model: 'm', stream: true, messages: PREFILL_MESSAGES });
      const client = pausedClient(portOf(proxy.url), c.path, body);
      // The upstream writes until every buffer between it and the client is full, then waits.
      await expect.poll(() => source.written(), { timeout: 5000 }).toBeGreaterThan(256 * 1024);
      let held = source.written();
      for (let i = 0; i < 20; i++) {
        await sleep(50);
        if (source.written() === held) break;
        held = source.written();
      }
      await sleep(300);
      const whileStopped = source.written();
      expect(source.finished()).toBe(false);
      // Socket buffers on both sides (the kernel may grow each to a few MB) and the proxy's own (a
      // write's worth) hold a part of it; without the pause, all of it (tried: 64 MB of 64).
      expect(whileStopped).toBeLessThan(ANSWER_BYTES / 2);
      const text = await client.read();
      expect(source.finished()).toBe(true);
      expect(text.startsWith('HTTP/1.1 200')).toBe(true);
      expect(text).toContain(c.marker);
      expect(text.split(PIECE).length - 1).toBe(Math.ceil(ANSWER_BYTES / sse(chunk(PIECE)).length));
    });
  }
});
