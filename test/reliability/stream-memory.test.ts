/**
 * Class 2 — bounded memory on rewritten streams. A prefill stream on llama.cpp is parsed by the proxy
 * (to strip a repeated prefix); an upstream that sends one endless SSE line must not make the proxy
 * hold it. Past UPSTREAM_MAX_EVENT_BYTES (default 4 MiB) the stream ends with an error event
 * `upstream_event_too_large`, no `[DONE]`. The proxy runs in this process, so its memory is ours.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { MB, PREFILL_MESSAGES, ROLE_CHUNK, chatBody, chunk, closeProxy, errorEventStandsAlone, lastEventError, sleep, sse, startSse, startUpstream, type RecordingUpstream } from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** The first upstream event: one the rewriter is still holding (role only) or one that settles the prefix question. */
const FIRST_EVENTS = {
  'first event still parsed (role only)': ROLE_CHUNK,
  'first event settles the prefix (content " three,")': chunk(' three,'),
} as const;

/** Writes `bytes` of "a" in 64 KB pieces, waiting for drain; stops when the socket goes or `stop()` says so. */
async function writeA(res: ServerResponse, bytes: number, stop: () => boolean, progress: (written: number) => void = () => undefined): Promise<number> {
  const piece = Buffer.alloc(64 * 1024, 'a');
  let written = 0;
  while (written < bytes && !stop() && !res.destroyed) {
    const part = bytes - written >= piece.length ? piece : piece.subarray(0, bytes - written);
    written += part.length;
    progress(written);
    if (!res.write(part)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    }
  }
  return written;
}

/** Reads a streamed answer keeping only its head and tail (the body may be hundreds of MB). */
async function readHeadAndTail(url: string, body: string, timeoutMs: number, seen: { sawError: boolean } = { sawError: false }) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
  let head = '';
  let tail = '';
  let bytes = 0;
  let bodyError: unknown;
  const decoder = new TextDecoder();
  try {
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += part.length;
      const text = decoder.decode(part, { stream: true });
      if (head.length < 4096) head += text.slice(0, 4096 - head.length);
      tail = (tail + text).slice(-4096);
      if (!seen.sawError && tail.includes('{"error"')) seen.sawError = true;
    }
  } catch (err) {
    bodyError = err;
  }
  return { status: response.status, head, tail, bytes, bodyError };
}

describe('bounded memory on rewritten streams', () => {
  for (const [name, first] of Object.entries(FIRST_EVENTS)) {
    it(`a 200 MB line with no newline (defaults; ${name}): error event upstream_event_too_large, no [DONE], RSS grows well under 100 MB`, async () => {
      const before = process.memoryUsage().rss;
      let peak = before;
      // Fail fast, without deciding the outcome: stop feeding the proxy once the RSS growth is past any
      // passing value, or once 32 MB went out and the client has seen no error event (a proxy that
      // enforces the 4 MiB limit has sent it by then).
      const client = { sawError: false };
      let written = 0;
      const tooMuch = () => peak - before >= 100 * MB || (written > 32 * MB && !client.sawError);
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      try {
        upstream = await startUpstream(async (_request, res) => {
          startSse(res);
          res.write(sse(first));
          res.write('data: ');
          await writeA(res, 200 * MB, tooMuch, (bytes) => (written = bytes));
          // All sent (or the proxy gave up reading): end the response without a line end.
          await sleep(200);
          if (!res.destroyed) res.end();
        });
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
        const result = await readHeadAndTail(`${proxy.url}/v1/chat/completions`, chatBody(PREFILL_MESSAGES, { stream: true }), 20_000, client);
        peak = Math.max(peak, process.memoryUsage().rss);
        const growth = peak - before;

        expect(result.status).toBe(200);
        expect.soft(result.tail).not.toContain('[DONE]');
        expect.soft(lastEventError(result.tail), `the stream did not end with an upstream_event_too_large error event (tail: ${JSON.stringify(result.tail.slice(-120))}, ${result.bytes} bytes, upstream wrote ${written})`).toMatchObject({
          code: 'upstream_event_too_large',
        });
        expect.soft(errorEventStandsAlone(result.tail), 'the error event is an event of its own').toBe(true);
        expect.soft(growth, `RSS grew by ${Math.round(growth / MB)} MB`).toBeLessThan(100 * MB);
      } finally {
        clearInterval(sampler);
      }
    }, 30_000);
  }

  for (const [name, first] of Object.entries(FIRST_EVENTS)) {
    for (const terminated of [false, true]) {
      it(`UPSTREAM_MAX_EVENT_BYTES=1024 and a 2 KB line ${terminated ? 'followed by a blank line and [DONE]' : 'with no newline'} (${name}): error event, no [DONE]`, async () => {
        upstream = await startUpstream(async (_request, res) => {
          startSse(res);
          res.write(sse(first));
          await sleep(20);
          res.write(`data: ${'a'.repeat(2048)}`);
          if (terminated) res.write('\n\ndata: [DONE]\n\n');
          await sleep(200);
          res.end();
        });
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_MAX_EVENT_BYTES: '1024' });
        const result = await readHeadAndTail(`${proxy.url}/v1/chat/completions`, chatBody(PREFILL_MESSAGES, { stream: true }), 5000);
        expect(result.status).toBe(200);
        if (first !== ROLE_CHUNK) expect(result.head).toContain(' three,');
        expect(result.tail).not.toContain('[DONE]');
        expect(lastEventError(result.tail), `tail: ${JSON.stringify(result.tail.slice(-120))}`).toMatchObject({ code: 'upstream_event_too_large' });
        expect(errorEventStandsAlone(result.tail), 'the error event is an event of its own').toBe(true);
      }, 10_000);
    }
  }
});
