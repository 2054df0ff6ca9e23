/**
 * Class 11 — secrets never relayed. Upstreams echo keys back in their errors ("Incorrect API key
 * provided: sk-..."), in error events mid-stream and in headers. Whatever the route, the provider or
 * where the key came from (UPSTREAM_API_KEY, or the client's own with UPSTREAM_KEY_FROM_CLIENT), the
 * key — or a long piece of it — never reaches the client's body or headers, nor the logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import {
  PLAIN_MESSAGES,
  PREFILL_MESSAGES,
  chatBody,
  chunk,
  closeProxy,
  postAndRead,
  sendJson,
  sleep,
  sse,
  startSse,
  startUpstream,
  type ReadResult,
  type RecordingUpstream,
  type UpstreamHandler,
} from './support.js';

const UPSTREAM_KEY = 'sk-upstream-SECRET-1234567890';
const CLIENT_KEY = 'sk-client-OWN-9876543210';

/** The key itself and every 10-character piece of its secret part. */
function fragments(key: string, secretPart: string): string[] {
  const pieces = [key];
  for (let i = 0; i + 10 <= secretPart.length; i++) pieces.push(secretPart.slice(i, i + 10));
  return pieces;
}
const UPSTREAM_FRAGMENTS = fragments(UPSTREAM_KEY, 'SECRET-1234567890');
const CLIENT_FRAGMENTS = fragments(CLIENT_KEY, 'OWN-9876543210');

function leaks(text: string, pieces: string[]): string[] {
  return pieces.filter((piece) => text.includes(piece));
}

let upstream: RecordingUpstream | undefined;
let proxy: RunningProxy | undefined;
let logs: string[] = [];
afterEach(async () => {
  await closeProxy(proxy);
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
  logs = [];
});

async function setUp(handler: UpstreamHandler, env: Record<string, string> = {}, clientKey = 'unused') {
  upstream = await startUpstream(handler);
  proxy = await startProxy(
    { UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'openai', UPSTREAM_API_KEY: UPSTREAM_KEY, LOG_LEVEL: 'trace', RESUME_ATTEMPTS: '0', ...env },
    clientKey,
    { write: (line: string) => void logs.push(line) },
  );
  return proxy;
}

/** Everything the client saw: status, headers and body. */
const seen = (result: ReadResult) => `${result.status}\n${JSON.stringify([...result.headers])}\n${result.text}`;

/** Asserts nothing leaked to the client or the logs, and that the upstream did get the key (the test is not vacuous). */
async function expectNoLeak(result: ReadResult, pieces: string[], key: string) {
  await sleep(50);
  const found = { client: leaks(seen(result), pieces).length > 0, logs: leaks(logs.join('\n'), pieces).length > 0 };
  expect.soft(found, `where the key leaked; the client saw: ${seen(result).slice(-300)}`).toEqual({ client: false, logs: false });
  const sent = upstream!.started.map((request) => JSON.stringify(request.headers)).join('\n');
  expect(sent, 'the upstream never got the key').toContain(key);
}

const incorrectKey = (key: string) => ({
  error: {
    message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  },
});

describe('secrets never relayed', () => {
  it('an upstream 401 echoing UPSTREAM_API_KEY in its error message (and a header): not in the client body, headers or logs', async () => {
    const running = await setUp((_request, res) => sendJson(res, 401, incorrectKey(UPSTREAM_KEY), { 'x-debug-key': UPSTREAM_KEY }));
    const result = await postAndRead(`${running.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES));
    expect(result.status).toBe(401);
    await expectNoLeak(result, UPSTREAM_FRAGMENTS, UPSTREAM_KEY);
  });

  it('the Authorization header value echoed in an upstream error: not relayed', async () => {
    const running = await setUp((request, res) =>
      sendJson(res, 403, { error: { message: `Invalid header value: Authorization: ${String(request.headers.authorization)}`, type: 'invalid_request_error', param: null, code: null } }),
    );
    const result = await postAndRead(`${running.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES));
    expect(result.status).toBe(403);
    await expectNoLeak(result, [...UPSTREAM_FRAGMENTS, `Bearer ${UPSTREAM_KEY}`], UPSTREAM_KEY);
  });

  for (const [kindName, messages, provider] of [
    ['not a prefill (piped)', PLAIN_MESSAGES, 'openai'],
    ['a prefill on llamacpp (rewritten)', PREFILL_MESSAGES, 'llamacpp'],
  ] as const) {
    it(`a mid-stream error event echoing the key, ${kindName}: not relayed`, async () => {
      const running = await setUp(
        async (_request, res) => {
          startSse(res);
          res.write(sse(chunk(' three,')));
          await sleep(20);
          res.write(sse(incorrectKey(UPSTREAM_KEY)));
          res.end();
        },
        { UPSTREAM_PROVIDER: provider },
      );
      const result = await postAndRead(`${running.url}/v1/chat/completions`, chatBody(messages, { stream: true }));
      expect(result.text).toContain(' three,');
      await expectNoLeak(result, UPSTREAM_FRAGMENTS, UPSTREAM_KEY);
    });
  }

  it('an Anthropic upstream error echoing the key (HTTP error and a mid-stream error event): not relayed', async () => {
    const anthropicError = (type: string) => ({ type: 'error', error: { type, message: `invalid x-api-key: ${UPSTREAM_KEY}` }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });
    const running = await setUp(
      async (request, res) => {
        if (request.json?.stream !== true) return sendJson(res, 401, anthropicError('authentication_error'));
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
        res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } })}\n\n`);
        res.write(`event: error\ndata: ${JSON.stringify(anthropicError('overloaded_error'))}\n\n`);
        res.end();
      },
      { UPSTREAM_PROVIDER: 'anthropic' },
    );
    const whole = await postAndRead(`${running.url}/v1/chat/completions`, JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 16, messages: PLAIN_MESSAGES }));
    expect(whole.status).toBe(401);
    await expectNoLeak(whole, UPSTREAM_FRAGMENTS, UPSTREAM_KEY);
    const streamed = await postAndRead(`${running.url}/v1/chat/completions`, JSON.stringify({ model: 'claude-3-5-haiku-20241022', max_tokens: 16, stream: true, messages: PLAIN_MESSAGES }));
    await expectNoLeak(streamed, UPSTREAM_FRAGMENTS, UPSTREAM_KEY);
  });

  it('a passthrough route (POST /v1/embeddings) whose error echoes the key in its body and a header: not relayed', async () => {
    const running = await setUp((_request, res) => sendJson(res, 401, incorrectKey(UPSTREAM_KEY), { 'www-authenticate': `Bearer realm="${UPSTREAM_KEY}"` }));
    const result = await postAndRead(`${running.url}/v1/embeddings`, JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }));
    expect(result.status).toBe(401);
    await expectNoLeak(result, UPSTREAM_FRAGMENTS, UPSTREAM_KEY);
  });

  it("UPSTREAM_KEY_FROM_CLIENT=true with PROXY_API_KEYS: the client's own key echoed back by the upstream is not relayed (chat and passthrough)", async () => {
    const running = await setUp((request, res) => sendJson(res, 401, incorrectKey(String(request.headers.authorization).replace(/^Bearer /, ''))), {
      UPSTREAM_KEY_FROM_CLIENT: 'true',
      PROXY_API_KEYS: CLIENT_KEY,
      UPSTREAM_API_KEY: '',
    });
    const headers = { authorization: `Bearer ${CLIENT_KEY}` };
    const chat = await postAndRead(`${running.url}/v1/chat/completions`, chatBody(PLAIN_MESSAGES), { headers });
    expect(chat.status).toBe(401);
    await expectNoLeak(chat, CLIENT_FRAGMENTS, CLIENT_KEY);
    const embeddings = await postAndRead(`${running.url}/v1/embeddings`, JSON.stringify({ input: 'x' }), { headers });
    expect(embeddings.status).toBe(401);
    await expectNoLeak(embeddings, CLIENT_FRAGMENTS, CLIENT_KEY);
  });
});
