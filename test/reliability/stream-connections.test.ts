/**
 * llama-server closes the connection after every streamed answer without saying so (its headers still
 * offer keep-alive; seen on both real builds). A request written on that connection meets the close,
 * and a POST is never sent twice, so the client would get a 502: the proxy does not keep such a
 * connection (Provider.closesConnectionAfterStream). Here the upstream drops any request that arrives
 * on a connection that served a stream, as llama-server's close does when it wins the race; every
 * request must still be answered, on the chat route and on the passthrough.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { PLAIN_MESSAGES, PREFILL_MESSAGES, ROLE_CHUNK, chatBody, chunk, closeProxy, completion, postAndRead, sendJson, sse, startSse, startUpstream, type RecordingUpstream } from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** An upstream that, like llama-server, is done with a connection once it has streamed on it. */
async function closingAfterStreams(): Promise<{ upstream: RecordingUpstream; dropped: () => number }> {
  const streamedOn = new WeakSet<Socket>();
  let dropped = 0;
  const server = await startUpstream((request, res) => {
    const socket = res.socket!;
    if (streamedOn.has(socket)) {
      dropped++;
      socket.destroy();
      return;
    }
    if (request.json?.stream === true) {
      streamedOn.add(socket);
      startSse(res);
      res.write(sse(ROLE_CHUNK));
      res.write(sse(chunk(' three.')));
      res.end(sse('[DONE]'));
      return;
    }
    // No /apply-template (an older build): a prefill takes the chat form.
    if (request.url.startsWith('/apply-template')) sendJson(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    else sendJson(res, 200, completion());
  });
  return { upstream: server, dropped: () => dropped };
}

describe('an upstream that closes the connection after a stream (llama.cpp)', () => {
  for (const [name, messages] of [
    ['not a prefill', PLAIN_MESSAGES],
    ['a prefill', PREFILL_MESSAGES],
  ] as const) {
    it(`chat, ${name}: streamed, whole, streamed, whole, one after another: every one answered, none sent on a used connection`, async () => {
      const mock = await closingAfterStreams();
      upstream = mock.upstream;
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
      for (const stream of [true, false, true, false]) {
        const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages, stream ? { stream: true } : {}), { timeoutMs: 4000 });
        expect(result.status, result.text).toBe(200);
        if (stream) expect(result.text, result.text).toContain("data: [DONE]");
      }
      expect(mock.dropped()).toBe(0);
    });
  }

  it('the passthrough (a pool of its own): a streamed /completion, then another /completion', async () => {
    const mock = await closingAfterStreams();
    upstream = mock.upstream;
    proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
    const streamed = await postAndRead(`${proxy.url}/completion`, JSON.stringify({ prompt: 'Count.', stream: true }), { timeoutMs: 4000 });
    expect(streamed.status).toBe(200);
    const whole = await postAndRead(`${proxy.url}/completion`, JSON.stringify({ prompt: 'Count.' }), { timeoutMs: 4000 });
    expect(whole.status, whole.text).toBe(200);
    expect(mock.dropped()).toBe(0);
  });
});
