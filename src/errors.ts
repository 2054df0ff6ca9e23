/**
 * Every failure the proxy raises itself has a stable code (like undici's `UND_ERR_*`), and each code
 * one HTTP status and one error type, in the table below. Doors render a ProxyError in their own wire
 * shape (OpenAI's `{"error": {"message", "type", "param", "code"}}` on Chat Completions and Responses,
 * Anthropic's on Messages). Upstream errors keep the upstream's own status, type and code.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

const spec = (status: number, type: ErrorType) => ({ status, type });

/** The proxy's own error codes: code → status → type. */
export const ERROR_CODES = {
  invalid_json: spec(400, 'invalid_request_error'),
  invalid_request: spec(400, 'invalid_request_error'),
  invalid_request_body: spec(400, 'invalid_request_error'),
  request_too_deep: spec(400, 'invalid_request_error'),
  invalid_prefill_mode: spec(400, 'invalid_request_error'),
  invalid_prefill_content: spec(400, 'invalid_request_error'),
  prefill_not_supported: spec(400, 'invalid_request_error'),
  prefill_mode_unsupported: spec(400, 'invalid_request_error'),
  missing_api_key: spec(401, 'authentication_error'),
  invalid_api_key: spec(401, 'authentication_error'),
  model_not_found: spec(404, 'not_found_error'),
  request_too_large: spec(413, 'invalid_request_error'),
  unsupported_media_type: spec(415, 'invalid_request_error'),
  client_closed_request: spec(499, 'invalid_request_error'),
  internal_error: spec(500, 'server_error'),
  server_shutting_down: spec(503, 'server_error'),
  method_not_allowed: spec(405, 'invalid_request_error'),
  invalid_path: spec(400, 'invalid_request_error'),
  passthrough_busy: spec(503, 'server_error'),
  upstream_error: spec(502, 'upstream_error'),
  upstream_unreachable: spec(502, 'upstream_error'),
  upstream_credentials_unavailable: spec(502, 'upstream_error'),
  upstream_connection_lost: spec(502, 'upstream_error'),
  upstream_invalid_response: spec(502, 'upstream_error'),
  upstream_response_too_large: spec(502, 'upstream_error'),
  upstream_stream_truncated: spec(502, 'upstream_error'),
  upstream_event_too_large: spec(502, 'upstream_error'),
  upstream_connect_timeout: spec(504, 'timeout_error'),
  upstream_headers_timeout: spec(504, 'timeout_error'),
  upstream_body_timeout: spec(504, 'timeout_error'),
} as const satisfies Record<string, { status: number; type: ErrorType }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

interface ErrorOptions {
  param?: string | null;
  cause?: unknown;
  /** Response headers that belong with the error (an upstream's retry-after). */
  headers?: Record<string, string>;
}

export class ProxyError extends Error {
  readonly status: number;
  readonly type: string;
  /** Always a string (OpenAI's schema types `code` as string or null; llama.cpp sends numbers). */
  readonly code: string | null;
  readonly param: string | null;
  readonly headers: Record<string, string> | undefined;

  constructor(status: number, message: string, options: ErrorOptions & { type?: string; code?: string | number | null } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.status = status;
    this.type = options.type ?? defaultTypeFor(status);
    this.code = options.code === undefined || options.code === null ? null : String(options.code);
    this.param = options.param ?? null;
    this.headers = options.headers;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** An error of the proxy's own, its status and type from the table. */
export function proxyError(code: ErrorCode, message: string, options: ErrorOptions = {}): ProxyError {
  const { status, type } = ERROR_CODES[code];
  return new ProxyError(status, message, { ...options, type, code });
}

export const badRequest = (message: string, param: string | null = null, code: ErrorCode = 'invalid_request') =>
  proxyError(code, message, { param });

function defaultTypeFor(status: number): ErrorType {
  if (status === 401 || status === 403) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 504) return 'timeout_error';
  if (status === 502) return 'upstream_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Transport failures (undici and socket codes) as the proxy's codes. */
const TRANSPORT_ERRORS: Readonly<Record<string, [ErrorCode, string]>> = {
  UND_ERR_HEADERS_TIMEOUT: ['upstream_headers_timeout', 'The upstream did not answer in time (headers timeout).'],
  UND_ERR_BODY_TIMEOUT: ['upstream_body_timeout', 'The upstream stopped sending data (body idle timeout).'],
  UND_ERR_CONNECT_TIMEOUT: ['upstream_connect_timeout', 'Connecting to the upstream timed out.'],
  ECONNREFUSED: ['upstream_unreachable', 'The upstream refused the connection.'],
  ENOTFOUND: ['upstream_unreachable', 'The upstream host name could not be resolved.'],
  EAI_AGAIN: ['upstream_unreachable', 'The upstream host name could not be resolved.'],
  ECONNRESET: ['upstream_connection_lost', 'The upstream closed the connection unexpectedly.'],
  EPIPE: ['upstream_connection_lost', 'The upstream closed the connection unexpectedly.'],
  UND_ERR_SOCKET: ['upstream_connection_lost', 'The upstream closed the connection unexpectedly.'],
  UND_ERR_CLOSED: ['upstream_connection_lost', 'The upstream closed the connection unexpectedly.'],
};

/**
 * Maps a transport failure talking to the upstream (undici or Node socket errors) to 502/504.
 * The message names the failure, never the upstream URL's credentials or a key.
 */
export function upstreamTransportError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const known = TRANSPORT_ERRORS[errorCode(err) ?? ''] ?? (cutAtEof(err) ? TRANSPORT_ERRORS.UND_ERR_SOCKET : undefined);
  if (known) return proxyError(known[0], known[1], { cause: err });
  return proxyError('upstream_error', 'The upstream request failed.', { cause: err });
}

/**
 * A body cut short on a connection undici was told to close after the exchange (`reset`): it reads the
 * close as the end of the message, and a chunked body not yet complete is then a parser error without
 * a code, not the "other side closed" of a kept connection. The same failure, named the same.
 */
function cutAtEof(err: unknown): boolean {
  return err instanceof Error && err.name === 'HTTPParserError' && /EOF/i.test(err.message);
}

/** The first string `code` on an error or its causes (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns an upstream's error body into a ProxyError, keeping its status and message.
 * Accepts OpenAI-style `{error:{message}}`, llama.cpp's `{error:{code,message,type}}`, Google's
 * `{error:{code,message,status}}` (the status name becomes the code),
 * FastAPI-style `{detail}` / `{message}` (vLLM, Mistral) and plain text.
 */
export function upstreamHttpError(status: number, bodyText: string, headers: UpstreamErrorHeaders = {}): ProxyError {
  let message = `The upstream answered with HTTP ${status}.`;
  let type: string | undefined;
  let code: string | number | null = null;
  let param: string | null = null;
  try {
    const parsed = JSON.parse(bodyText) as Record<string, unknown>;
    const inner = (typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed) as Record<string, unknown>;
    const candidate = inner.message ?? inner.detail ?? inner.msg ?? (typeof parsed.error === 'string' ? parsed.error : undefined);
    if (typeof candidate === 'string' && candidate.length > 0) message = candidate;
    else if (candidate !== undefined) message = JSON.stringify(candidate);
    if (typeof inner.type === 'string') type = inner.type;
    if (typeof inner.code === 'string' || typeof inner.code === 'number') code = inner.code;
    // Google's APIs (Gemini): `code` repeats the HTTP status and `status` names the error (INVALID_ARGUMENT, …).
    if (typeof inner.code === 'number' && typeof inner.status === 'string' && /^[A-Z][A-Z_]+$/.test(inner.status)) code = inner.status;
    if (typeof inner.param === 'string') param = inner.param;
  } catch {
    const text = bodyText.trim();
    if (text.length > 0) message = text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  }
  // AWS services (Bedrock) name the error in a header, `ThrottlingException:http://internal.amazon.com/…`,
  // and send only `{"message"}`: the name is the stable code the AWS SDKs raise.
  const awsType = headerText(headers['x-amzn-errortype'])?.split(':')[0];
  if (code === null && awsType && /^[A-Za-z]+$/.test(awsType)) code = awsType;
  // A status the upstream made up (e.g. 600) still needs a valid HTTP status for our client.
  const safeStatus = status >= 400 && status <= 599 ? status : 502;
  const retryAfter = headerText(headers['retry-after']);
  return new ProxyError(safeStatus, message, { type: type ?? defaultTypeFor(safeStatus), code, param, headers: retryAfter ? { 'retry-after': retryAfter } : undefined });
}

/** The headers of an upstream's error answer that say more than its body. */
export type UpstreamErrorHeaders = Record<string, string | string[] | undefined>;

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** An upstream that answered something the proxy cannot read as its dialect's answer. */
export function invalidUpstreamResponse(message: string, cause?: unknown): ProxyError {
  return proxyError('upstream_invalid_response', message, { cause });
}
