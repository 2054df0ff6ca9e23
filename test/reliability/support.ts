/**
 * Shared pieces of the reliability battery: raw sockets (for requests `fetch` would normalise or refuse),
 * an upstream that records what reached it even when a request body was cut, SSE and metrics readers.
 * Everything listens on port 0 and is closed by the test that started it.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { createConnection, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

export const MB = 1024 * 1024;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

// ---------------------------------------------------------------------------------------------
// Chat fixtures

/** A trailing assistant message: a prefill in the default mode (the answer is rewritten on llamacpp). */
export const PREFILL_MESSAGES = [
  { role: 'user', content: 'Count.' },
  { role: 'assistant', content: 'One, two,' },
];
/** A trailing user message: not a prefill (the request and answer are piped). */
export const PLAIN_MESSAGES = [{ role: 'user', content: 'Count.' }];

export function completion(content = ' three.'): Record<string, unknown> {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  };
}

export function chunk(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content, ...extra }, finish_reason: null }] };
}

/** llama.cpp's first streamed event: the role, empty content (nothing the proxy can settle on yet). */
export const ROLE_CHUNK = { id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] };

export const sse = (payload: unknown) => `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;

export function chatBody(messages: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'm', messages, ...extra });
}

// ---------------------------------------------------------------------------------------------
// A recording upstream

export interface UpstreamRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The whole body arrived (false: the connection went away first). */
  complete: boolean;
  json: Record<string, unknown> | undefined;
}

export interface RecordingUpstream {
  url: string;
  port: number;
  /** Every request whose headers arrived, in order. */
  started: UpstreamRequest[];
  /** Requests whose whole body arrived. */
  completed(): UpstreamRequest[];
  /** Responses whose connection closed before they were finished. */
  abortedResponses(): number;
  close(): Promise<void>;
}

export type UpstreamHandler = (request: UpstreamRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A node:http upstream that records each request as soon as its headers arrive, reads the body whole,
 * then calls the handler. Unlike test/mocks/server.ts it survives request bodies that are cut (no
 * unhandled rejection) and says which requests arrived complete.
 */
export async function startUpstream(handler: UpstreamHandler): Promise<RecordingUpstream> {
  const started: UpstreamRequest[] = [];
  let aborted = 0;
  const server = createServer((req, res) => {
    const record: UpstreamRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0), complete: false, json: undefined };
    started.push(record);
    res.on('close', () => {
      if (!res.writableFinished) aborted++;
    });
    const chunks: Buffer[] = [];
    req.on('data', (part: Buffer) => chunks.push(part));
    req.on('error', () => undefined);
    req.on('end', () => {
      record.complete = true;
      record.body = Buffer.concat(chunks);
      try {
        record.json = record.body.length > 0 ? (JSON.parse(record.body.toString('utf8')) as Record<string, unknown>) : undefined;
      } catch {
        record.json = undefined;
      }
      Promise.resolve()
        .then(() => handler(record, res))
        .catch((err: unknown) => {
          if (!res.headersSent) {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { message: String(err) } }));
          } else res.destroy();
        });
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    started,
    completed: () => started.filter((request) => request.complete),
    abortedResponses: () => aborted,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

/**
 * An upstream below HTTP: reads each request (headers and content-length body) from the socket and
 * lets `respond` write raw bytes. Counts requests.
 */
export async function startRawUpstream(respond: (socket: Socket, head: string, body: Buffer) => void): Promise<{ url: string; port: number; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (data: Buffer) => {
      if (answered) return;
      buffer = Buffer.concat([buffer, data]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      answered = true;
      requests++;
      respond(socket, head, buffer.subarray(end + 4, end + 4 + length));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw client requests

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte written to the response being complete (or the socket closing). */
  elapsedMs: number;
}

/**
 * Writes `request` as it is over a fresh socket and reads one response. Resolves with undefined when
 * nothing parseable came back within `timeoutMs` (the socket is destroyed either way).
 */
export function rawRequest(port: number, request: string | Buffer, options: { timeoutMs?: number; head?: boolean } = {}): Promise<RawResponse | undefined> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = createConnection(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const parsed = parseResponse(received, options.head === true, closed);
      if (!parsed && !closed) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parsed ? { ...parsed, elapsedMs: performance.now() - started } : undefined);
    };
    const timer = setTimeout(() => finish(true), options.timeoutMs ?? 3000);
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

/** A complete response in `bytes` (or, once the socket closed, whatever status and headers arrived). */
export function parseResponse(bytes: Buffer, head: boolean, closed: boolean): Omit<RawResponse, 'elapsedMs'> | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isFinite(status)) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
  }
  const rest = bytes.subarray(end + 4);
  if (head || status === 204 || status === 304) return { status, headers, body: '' };
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (rest.length < length && !closed) return undefined;
    return { status, headers, body: rest.subarray(0, length).toString('utf8') };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const decoded = decodeChunked(rest);
    if (!decoded.complete && !closed) return undefined;
    return { status, headers, body: decoded.body.toString('utf8') };
  }
  if (!closed) return undefined;
  return { status, headers, body: rest.toString('utf8') };
}

function decodeChunked(bytes: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) return { body: Buffer.concat(parts), complete: false };
    const size = parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return { body: Buffer.concat(parts), complete: false };
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    const start = lineEnd + 2;
    if (bytes.length < start + size) {
      parts.push(bytes.subarray(start));
      return { body: Buffer.concat(parts), complete: false };
    }
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** `{"error": {...}}` from a JSON body, or undefined. */
export function errorOf(body: string): { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: Record<string, unknown> };
    return typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/** True for OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`. */
export function isOpenAIError(body: string): boolean {
  const error = errorOf(body);
  return error !== undefined && typeof error.message === 'string' && 'type' in error && 'param' in error && 'code' in error;
}

// ---------------------------------------------------------------------------------------------
// Streams

export interface ReadResult {
  status: number;
  headers: Headers;
  text: string;
  /** The body ended with an error (connection cut, aborted) rather than cleanly. */
  bodyError: string | undefined;
}

/** POSTs and reads the whole answer, noting (not throwing) a body that ends in an error. */
export async function postAndRead(url: string, body: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<ReadResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no complete answer within ${options.timeoutMs ?? 5000} ms`)), options.timeoutMs ?? 5000);
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...options.headers }, body, signal: controller.signal });
    let text = '';
    let bodyError: string | undefined;
    const decoder = new TextDecoder();
    try {
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(part, { stream: true });
    } catch (err) {
      bodyError = errorText(err);
    }
    return { status: response.status, headers: response.headers, text, bodyError };
  } finally {
    clearTimeout(timer);
  }
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}${err.cause ? ` (${errorText(err.cause)})` : ''}`;
  return String(err);
}

/** The events of an SSE body (blocks between blank lines), CRLF tolerated. */
export function sseBlocks(text: string): string[] {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n\n')
    .filter((block) => block.trim().length > 0);
}

/** The `error` object of the body's last event, if that event is a well-formed `data: {"error": ...}`. */
export function lastEventError(text: string): Record<string, unknown> | undefined {
  const blocks = sseBlocks(text);
  const last = blocks[blocks.length - 1];
  if (!last) return undefined;
  const data = last
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).replace(/^ /, ''))
    .join('\n');
  try {
    const parsed = JSON.parse(data) as { error?: Record<string, unknown> };
    return typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The error event is an event of its own: it starts the body or follows a blank line, and the body
 * ends right after it with a blank line.
 */
export function errorEventStandsAlone(text: string): boolean {
  const normalised = text.replace(/\r\n/g, '\n');
  const at = normalised.lastIndexOf('data: {"error"');
  if (at === -1) return false;
  return (at === 0 || normalised.slice(at - 2, at) === '\n\n') && normalised.endsWith('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** The sum of `prefill_proxy_upstream_errors_total` series with kind=`kind`. */
export async function upstreamErrorCount(proxyUrl: string, kind: string): Promise<number> {
  const text = await (await fetch(`${proxyUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('prefill_proxy_upstream_errors_total{')) continue;
    if (!line.includes(`kind="${kind}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Teardown

/**
 * Closes a proxy started with startProxy; if in-flight requests hold the close for more than
 * `graceMs` (a failing test often leaves some), its connections are cut so the next test starts clean.
 */
export async function closeProxy(proxy: { app: { server: { closeAllConnections(): void } }; close(): Promise<void> } | undefined, graceMs = 1500): Promise<void> {
  if (!proxy) return;
  const closing = proxy.close().catch(() => undefined);
  const closedInTime = await Promise.race([closing.then(() => true), sleep(graceMs).then(() => false)]);
  if (closedInTime) return;
  proxy.app.server.closeAllConnections();
  await Promise.race([closing, sleep(graceMs)]);
}
