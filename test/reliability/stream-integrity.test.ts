/**
 * A stream that ends badly must end with an error event the client can parse on its own, and never
 * with `[DONE]`: the OpenAI SDKs then raise it, instead of choking on a glued line or ending silently.
 * Class 7 — the upstream drops the connection in the middle of an event (rewritten stream).
 * Class 8 — a close-delimited stream (no content-length, no chunked encoding) that stops without
 * `[DONE]`: `upstream_stream_truncated`, piped or rewritten. And streams cut at shutdown:
 * `server_shutting_down`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import {
  PLAIN_MESSAGES,
  PREFILL_MESSAGES,
  ROLE_CHUNK,
  chatBody,
  chunk,
  closeProxy,
  errorEventStandsAlone,
  errorText,
  lastEventError,
  postAndRead,
  sleep,
  sse,
  startRawUpstream,
  startSse,
  startUpstream,
  type RecordingUpstream,
} from './support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

let upstream: RecordingUpstream | undefined;
let rawUpstream: { close(): Promise<void> } | undefined;
let proxy: RunningProxy | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = undefined;
  await closeProxy(proxy);
  await upstream?.close();
  await rawUpstream?.close();
  proxy = undefined;
  upstream = undefined;
  rawUpstream = undefined;
});

/** Iterates an SDK stream; returns the content received and what was thrown (undefined: a clean end). */
async function iterate(client: OpenAI, messages: unknown[]): Promise<{ content: string; error: unknown }> {
  let content = '';
  try {
    const stream = await client.chat.completions.create({ model: 'm', messages, stream: true } as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming);
    for await (const part of stream) content += part.choices[0]?.delta?.content ?? '';
    return { content, error: undefined };
  } catch (error) {
    return { content, error };
  }
}

/** The proxy's error code carried by an SDK error (APIError keeps the event's `error` object). */
function sdkErrorCode(error: unknown): unknown {
  return (error as { error?: { code?: unknown } } | undefined)?.error?.code ?? (error as { code?: unknown } | undefined)?.code;
}

const HALF_EVENT = 'data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hel';

const FIRST_EVENTS = {
  'after an event that settles the prefix': chunk(' three,'),
  'after a role-only event': ROLE_CHUNK,
} as const;

describe('a drop inside an event on a rewritten stream (prefill, llamacpp)', () => {
  for (const [name, first] of Object.entries(FIRST_EVENTS)) {
    const startCutting = () =>
      startUpstream(async (_request, res) => {
        startSse(res);
        res.write(sse(first));
        await sleep(30);
        res.write(HALF_EVENT);
        await sleep(30);
        res.socket?.destroy();
      });

    it(`${name}: the body ends with a separate, parseable error event upstream_connection_lost, no [DONE]`, async () => {
      upstream = await startCutting();
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(PREFILL_MESSAGES, { stream: true }), { timeoutMs: 4000 });
      expect(result.status).toBe(200);
      expect(result.text).not.toContain('[DONE]');
      expect(lastEventError(result.text), `body: ${JSON.stringify(result.text)}`).toMatchObject({ code: 'upstream_connection_lost' });
      expect(errorEventStandsAlone(result.text), `the error event is glued to the cut line: ${JSON.stringify(result.text)}`).toBe(true);
    });

    it(`${name}: the openai SDK iterating the stream throws the proxy's error (not a JSON parse error, not a silent end)`, async () => {
      upstream = await startCutting();
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const { error } = await iterate(proxy.client, PREFILL_MESSAGES);
      expect(error, 'the SDK saw a clean end').toBeDefined();
      expect(error, `a JSON parse error: ${errorText(error)}`).not.toBeInstanceOf(SyntaxError);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(sdkErrorCode(error)).toBe('upstream_connection_lost');
    });
  }
});

/** An upstream that answers every request with a close-delimited event stream: `events`, then the socket ends. */
async function closeDelimited(events: string[]) {
  const started = await startRawUpstream((socket: Socket) => {
    socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n');
    void (async () => {
      for (const event of events) {
        socket.write(event);
        await sleep(20);
      }
      socket.end();
    })();
  });
  rawUpstream = started;
  return started;
}

const KINDS = {
  'not a prefill (piped)': PLAIN_MESSAGES,
  'a prefill (rewritten)': PREFILL_MESSAGES,
} as const;

describe('a close-delimited stream that stops without [DONE]', () => {
  for (const [kindName, messages] of Object.entries(KINDS)) {
    it(`${kindName}: ends with an error event upstream_stream_truncated and no [DONE]`, async () => {
      const raw = await closeDelimited([sse(chunk(' three,')), sse(chunk(' four,'))]);
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: raw.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages, { stream: true }), { timeoutMs: 4000 });
      expect(result.status).toBe(200);
      expect(result.text).toContain(' four,');
      expect(result.text).not.toContain('[DONE]');
      expect(lastEventError(result.text), `body: ${JSON.stringify(result.text)}`).toMatchObject({ code: 'upstream_stream_truncated' });
      expect(errorEventStandsAlone(result.text)).toBe(true);
    });

    it(`${kindName}: the openai SDK throws upstream_stream_truncated`, async () => {
      const raw = await closeDelimited([sse(chunk(' three,')), sse(chunk(' four,'))]);
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: raw.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const { content, error } = await iterate(proxy.client, messages);
      expect(content).toBe(' three, four,');
      expect(error, 'the SDK saw a clean end').toBeInstanceOf(OpenAI.APIError);
      expect(sdkErrorCode(error)).toBe('upstream_stream_truncated');
    });

    it(`${kindName}: a close-delimited stream that does end with [DONE] is clean`, async () => {
      const raw = await closeDelimited([sse(chunk(' three,')), sse({ ...chunk(''), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), sse('[DONE]')]);
      proxy = await startProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: raw.url, UPSTREAM_PROVIDER: 'llamacpp' });
      const result = await postAndRead(`${proxy.url}/v1/chat/completions`, chatBody(messages, { stream: true }), { timeoutMs: 4000 });
      expect(result.text).toContain('data: [DONE]');
      expect(lastEventError(result.text)).toBeUndefined();
      expect(result.text).not.toContain('"error"');
      const { content, error } = await iterate(proxy.client, messages);
      expect(error).toBeUndefined();
      expect(content).toBe(' three,');
    });
  }
});

/** The proxy as users run it, in its own process (as test/integration/shutdown.test.ts does). */
async function spawnProxy(env: Record<string, string>): Promise<{ url: string; exited: Promise<number | null> }> {
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const running = child;
  const exited = new Promise<number | null>((resolve) => running.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`the proxy did not start within 10 s: ${seen}`)), 10_000);
    running.stdout!.on('data', (data: Buffer) => {
      seen += data.toString();
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    running.stderr!.on('data', (data: Buffer) => (seen += data.toString()));
    running.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the proxy exited with ${code}: ${seen}`));
    });
  });
  return { url, exited };
}

describe('streams cut at shutdown', () => {
  it('SIGTERM with SHUTDOWN_GRACE_MS=500 and streams still running: each client gets an error event server_shutting_down (no [DONE]) before the connection closes', async () => {
    upstream = await startUpstream(async (_request, res) => {
      startSse(res);
      for (let i = 0; i < 200 && !res.destroyed; i++) {
        res.write(sse(chunk(` ${i},`)));
        await sleep(100);
      }
      res.end();
    });
    const proxyProcess = await spawnProxy({ RESUME_ATTEMPTS: '0', UPSTREAM_URL: upstream.url, UPSTREAM_PROVIDER: 'llamacpp', SHUTDOWN_GRACE_MS: '500' });

    /** Reads a stream, keeping what arrived even if the connection is then cut. */
    const open = async (messages: unknown[]) => {
      const response = await fetch(`${proxyProcess.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody(messages, { stream: true }),
        signal: AbortSignal.timeout(8000),
      });
      const state = { text: '', cut: undefined as string | undefined };
      const done = (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) state.text += decoder.decode(part, { stream: true });
        } catch (err) {
          state.cut = errorText(err);
        }
        return state;
      })();
      return { state, done };
    };
    const piped = await open(PLAIN_MESSAGES);
    const rewritten = await open(PREFILL_MESSAGES);
    await expect.poll(() => piped.state.text.length > 0 && rewritten.state.text.length > 0, { timeout: 3000 }).toBe(true);

    child!.kill('SIGTERM');
    const [pipedEnd, rewrittenEnd] = await Promise.all([piped.done, rewritten.done]);
    for (const [name, end] of [
      ['piped', pipedEnd],
      ['rewritten', rewrittenEnd],
    ] as const) {
      expect.soft(end.text, name).not.toContain('[DONE]');
      expect.soft(lastEventError(end.text), `${name}: the stream ended without an error event (${end.cut ?? 'clean end'}): ${JSON.stringify(end.text.slice(-160))}`).toMatchObject({
        code: 'server_shutting_down',
      });
    }
    expect(await proxyProcess.exited).toBe(0);
  }, 20_000);
});
