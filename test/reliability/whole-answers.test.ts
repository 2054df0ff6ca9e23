/**
 * Non-streamed chat answers that go wrong after the upstream's 200 headers.
 * Class 5 — the body stalls (504 upstream_body_timeout) or the connection drops (502
 * upstream_connection_lost) half-way; the failure is counted in prefill_proxy_upstream_errors_total.
 * Class 10 — a 200 whose body is not what the route expects (HTML, or "JSON" that is not JSON; JSON
 * where an event stream was asked for) → 502 upstream_invalid_response.
 * Both for an answer the proxy pipes (not a prefill) and one it rewrites (a prefill on llama.cpp).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import {
  PLAIN_MESSAGES,
  PREFILL_MESSAGES,
  chatBody,
  closeProxy,
  completion,
  errorOf,
  postAndRead,
  sleep,
  startUpstream,
  upstreamErrorCount,
  type RecordingUpstream,
} from './support.js';

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
afterEach(async () => {
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const KINDS = {
  'not a prefill (answer piped)': PLAIN_MESSAGES,
  'a prefill on llamacpp (answer rewritten)': PREFILL_MESSAGES,
} as const;

const FAILURES = {
  stalls: { status: 504, code: 'upstream_body_timeout', kind: 'timeout' },
  'drops the connection': { status: 502, code: 'upstream_connection_lost', kind: 'unreachable' },
} as const;

describe('whole answers whose body stalls or drops after the headers', () => {
  for (const [kindName, messages] of Object.entries(KINDS)) {
    for (const [failureName, expected] of Object.entries(FAILURES)) {
      it(`${kindName}: headers and half the JSON (content-length given), then the upstream ${failureName} → ${expected.status} ${expected.code}, counted as kind="${expected.kind}"`, async () => {
        const full = JSON.stringify(completion(' three, four, five, six, seven, eight, nine, ten.'));
        upstream = await startUpstream(async (_request, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
          res.write(full.slice(0, Math.floor(full.length / 2)));
          if (failureName === 'stalls') return; // never more; closed at the end of the test
          await sleep(50);
          res.socket?.destroy();
        });
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_BODY_TIMEOUT_MS: '500' });
        const before = await upstreamErrorCount(proxy.url, expected.kind);

        const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages), { timeoutMs: 4000 });
        expect.soft({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: expected.status, code: expected.code });
        expect.soft(errorOf(result.text)).toMatchObject({ message: expect.any(String), type: expect.any(String) });
        expect.soft(await upstreamErrorCount(proxy.url, expected.kind), `prefill_proxy_upstream_errors_total{kind="${expected.kind}"}`).toBe(before + 1);
      }, 10_000);
    }
  }

  for (const [failureName, expected] of Object.entries(FAILURES)) {
    it(`not a prefill, answer without content-length (chunked) that ${failureName} half-way: an error status, or else a body the client can tell is broken`, async () => {
      const full = JSON.stringify(completion(' three, four, five.'));
      upstream = await startUpstream(async (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(full.slice(0, Math.floor(full.length / 2)));
        if (failureName === 'stalls') return;
        await sleep(50);
        res.socket?.destroy();
      });
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_BODY_TIMEOUT_MS: '500' });
      const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES), { timeoutMs: 4000 });
      if (result.status === 200) {
        // The proxy had begun to pipe the body: the client must see the answer cut (aborted chunked
        // encoding / connection reset), never a clean end of a half JSON document.
        expect(result.bodyError, `a 200 whose half body ended cleanly: ${result.text}`).toBeDefined();
      } else {
        expect({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: expected.status, code: expected.code });
      }
    }, 10_000);
  }
});

describe('a 200 whose body is not what the route expects', () => {
  const BODIES = {
    'text/html <html>oops</html>': { contentType: 'text/html', body: '<html>oops</html>' },
    'application/json with a non-JSON body': { contentType: 'application/json', body: '<html>oops</html>' },
  } as const;

  for (const [kindName, messages] of Object.entries(KINDS)) {
    for (const [bodyName, answer] of Object.entries(BODIES)) {
      it(`non-streamed, ${kindName}: 200 ${bodyName} → 502 upstream_invalid_response`, async () => {
        upstream = await startUpstream((_request, res) => {
          res.writeHead(200, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) });
          res.end(answer.body);
        });
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
        const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages), { timeoutMs: 4000 });
        expect({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: 502, code: 'upstream_invalid_response' });
      });
    }
  }

  for (const [kindName, messages] of Object.entries(KINDS)) {
    it(`streamed, ${kindName}: answered with application/json → 502 upstream_invalid_response`, async () => {
      upstream = await startUpstream((_request, res) => {
        const body = JSON.stringify(completion());
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages, { stream: true }), { timeoutMs: 4000 });
      expect({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: 502, code: 'upstream_invalid_response' });
    });
  }
});

describe('whole answers larger than UPSTREAM_MAX_BODY_BYTES', () => {
  for (const [kindName, messages] of Object.entries(KINDS)) {
    for (const framing of ['content-length given', 'chunked'] as const) {
      it(`${kindName}, ${framing}: read → 502 upstream_response_too_large, piped → passed on; the proxy goes on answering`, async () => {
        const big = JSON.stringify(completion(' word'.repeat(2000)));
        let calls = 0;
        upstream = await startUpstream(async (request, res) => {
          if (!request.url?.endsWith('/chat/completions')) {
            res.writeHead(404).end(); // llama.cpp's template probe: not this server
            return;
          }
          calls += 1;
          const body = calls === 1 ? big : JSON.stringify(completion(' small.'));
          res.writeHead(200, { 'content-type': 'application/json', ...(framing === 'content-length given' ? { 'content-length': Buffer.byteLength(body) } : {}) });
          res.end(body);
        });
        proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', UPSTREAM_MAX_BODY_BYTES: '4096' });

        const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages), { timeoutMs: 4000 });
        if (kindName.startsWith('not a prefill')) {
          // Piped, never held: the limit bounds what the proxy reads into memory, and this costs none.
          expect.soft({ status: result.status, length: result.text.length }).toEqual({ status: 200, length: big.length });
        } else {
          expect.soft({ status: result.status, code: errorOf(result.text)?.code }).toEqual({ status: 502, code: 'upstream_response_too_large' });
        }
        // The dropped body (its abort) must not take the process down: the next request is answered.
        await sleep(50);
        const next = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages), { timeoutMs: 4000 });
        expect(next.status).toBe(200);
      }, 10_000);
    }
  }
});
