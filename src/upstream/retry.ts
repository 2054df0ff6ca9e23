import { setTimeout as sleep } from 'node:timers/promises';
import { ProxyError, errorCode } from '../errors.js';
import type { CancelSignal } from './client-gone.js';
import type { UpstreamResponse } from './types.js';
import { drainBody } from './read-body.js';

export interface RetryPolicy {
  /** Further attempts after the first (0: none). */
  retries: number;
  /** First backoff delay; doubled each time, with jitter. */
  baseDelayMs: number;
  /** The longest wait the proxy accepts, including an upstream's retry-after. */
  maxDelayMs: number;
}

/** Statuses that say "try again": rate limited, bad gateway, unavailable. */
const RETRYABLE_STATUS = new Set([429, 502, 503]);

/**
 * Failures after which the request cannot have reached the model: no connection was made (refused,
 * timed out, the name not resolved yet). A connection lost after the request was written is not
 * among them: the upstream may already be generating, and a second request would generate twice.
 */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Sends a request, again when it cannot have reached the model (no connection made) or the upstream
 * said "try again" (429/502/503), as long as no byte has reached the client (this runs before any
 * response header is written), within the policy's bounds and honouring the upstream's
 * `retry-after`. Gives up at once when the client goes away.
 */
export async function withRetries(
  policy: RetryPolicy,
  signal: CancelSignal,
  send: () => Promise<UpstreamResponse>,
  onRetry: (reason: string, delayMs: number) => void,
): Promise<UpstreamResponse> {
  for (let attempt = 0; ; attempt++) {
    let response: UpstreamResponse;
    try {
      response = await send();
    } catch (err) {
      const code = errorCode(err);
      if (attempt >= policy.retries || !code || !RETRYABLE_CODES.has(code) || signal.aborted) throw err;
      const delay = backoff(policy, attempt);
      onRetry(code, delay);
      await wait(delay, signal);
      continue;
    }
    if (!RETRYABLE_STATUS.has(response.statusCode) || attempt >= policy.retries || signal.aborted) return response;
    const delay = retryAfterMs(response.headers['retry-after']) ?? backoff(policy, attempt);
    // An upstream that asks for a longer pause than we wait for: its answer goes to the client.
    if (delay > policy.maxDelayMs) return response;
    drainBody(response.body);
    onRetry(`HTTP ${response.statusCode}`, delay);
    await wait(delay, signal);
  }
}

function backoff(policy: RetryPolicy, attempt: number): number {
  const exponential = policy.baseDelayMs * 2 ** attempt;
  return Math.min(policy.maxDelayMs, Math.round(exponential / 2 + Math.random() * (exponential / 2)));
}

/** `retry-after` as seconds or an HTTP date, in milliseconds. */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function wait(ms: number, signal: CancelSignal): Promise<void> {
  const abort = new AbortController();
  const onGone = () => abort.abort();
  signal.once('abort', onGone);
  try {
    await sleep(ms, undefined, { signal: abort.signal });
  } catch {
    throw new ProxyError(499, 'The client went away while the proxy waited to retry.', { code: 'client_closed_request' });
  } finally {
    signal.removeListener('abort', onGone);
  }
}
