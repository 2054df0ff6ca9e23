/**
 * Every failure leaves the proxy in OpenAI's error shape:
 * `{"error": {"message", "type", "param", "code"}}` with a meaningful HTTP status.
 * Codes are stable strings (like undici's `UND_ERR_*`), so clients and tests can match on them.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'not_found_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'server_error';

export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | number | null;
  };
}

export class ProxyError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | number | null;
  readonly param: string | null;
  /** Response headers that belong with the error (an upstream's retry-after). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: number,
    message: string,
    options: { type?: string; code?: string | number | null; param?: string | null; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProxyError';
    this.status = status;
    this.type = options.type ?? defaultTypeFor(status);
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers;
  }

  toJSON(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultTypeFor(status: number): ErrorType {
  if (status === 401 || status === 403) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 504) return 'timeout_error';
  if (status === 502) return 'upstream_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new ProxyError(400, message, { param, code });

/**
 * Maps a transport failure talking to the upstream (undici or Node socket errors) to 502/504.
 * The message names the failure, never the upstream URL's credentials or our API key.
 */
export function upstreamTransportError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  const code = errorCode(err);
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ProxyError(504, 'The upstream did not answer in time (headers timeout).', {
        code: 'upstream_headers_timeout',
        cause: err,
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return new ProxyError(504, 'The upstream stopped sending data (body idle timeout).', {
        code: 'upstream_body_timeout',
        cause: err,
      });
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ProxyError(504, 'Connecting to the upstream timed out.', { code: 'upstream_connect_timeout', cause: err });
    case 'ECONNREFUSED':
      return new ProxyError(502, 'The upstream refused the connection.', { code: 'upstream_unreachable', cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ProxyError(502, 'The upstream host name could not be resolved.', {
        code: 'upstream_unreachable',
        cause: err,
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new ProxyError(502, 'The upstream closed the connection unexpectedly.', {
        code: 'upstream_connection_lost',
        cause: err,
      });
    default:
      return new ProxyError(502, 'The upstream request failed.', { code: 'upstream_error', cause: err });
  }
}

/** The first string `code` on an error or its causes (undici wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  // undici wraps socket errors; the useful code may sit one or two causes down.
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns an upstream's error body into OpenAI's shape, keeping its status and message.
 * Accepts OpenAI-style `{error:{message}}`, llama.cpp's `{error:{code,message,type}}`,
 * FastAPI-style `{detail}` / `{message}` (vLLM, Mistral) and plain text.
 */
export function upstreamHttpError(status: number, bodyText: string, retryAfter?: string | string[]): ProxyError {
  const fallback = `The upstream answered with HTTP ${status}.`;
  let message = fallback;
  let type: string | undefined;
  let code: string | number | null = null;
  let param: string | null = null;
  try {
    const parsed = JSON.parse(bodyText) as Record<string, unknown>;
    const inner = (typeof parsed.error === 'object' && parsed.error !== null ? parsed.error : parsed) as Record<
      string,
      unknown
    >;
    const candidate = inner.message ?? inner.detail ?? inner.msg ?? (typeof parsed.error === 'string' ? parsed.error : undefined);
    if (typeof candidate === 'string' && candidate.length > 0) message = candidate;
    else if (candidate !== undefined) message = JSON.stringify(candidate);
    if (typeof inner.type === 'string') type = inner.type;
    if (typeof inner.code === 'string' || typeof inner.code === 'number') code = inner.code;
    if (typeof inner.param === 'string') param = inner.param;
  } catch {
    const text = bodyText.trim();
    if (text.length > 0) message = text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  }
  // A status the upstream made up (e.g. 600) still needs a valid HTTP status for our client.
  const safeStatus = status >= 400 && status <= 599 ? status : 502;
  const headers = typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : undefined;
  return new ProxyError(safeStatus, message, { type: type ?? defaultTypeFor(safeStatus), code, param, headers });
}
