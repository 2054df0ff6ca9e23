import type { Logger } from 'pino';
import { badRequest, upstreamHttpError, upstreamTransportError } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import type { JsonBody, Provider } from '../providers/types.js';
import { readBodyText } from '../upstream/read-body.js';
import type { CancelSignal } from '../upstream/client-gone.js';
import { withRetries, type RetryPolicy } from '../upstream/retry.js';
import type { Upstream, UpstreamResponse } from '../upstream/types.js';
import { planFallback, type PlanSettings, type UpstreamPlan } from './plan.js';
import type { ChatRequest } from './schema.js';

/** Upstream error bodies and rewritten answers are read whole; this bounds them. */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** What one chat request needs to talk to its upstream. */
export interface ChatCallContext {
  provider: Provider;
  upstream: Upstream;
  settings: PlanSettings;
  headers: Record<string, string>;
  signal: CancelSignal;
  log: Logger;
  reqId: string;
  retry: RetryPolicy;
}

/** A successful upstream answer (status < 400, body not yet read) and the plan that produced it. */
export interface Exchange {
  plan: UpstreamPlan;
  response: UpstreamResponse;
}

function serialize(body: Buffer | JsonBody): Buffer | string {
  if (Buffer.isBuffer(body)) return body;
  try {
    return JSON.stringify(body);
  } catch (err) {
    // JSON.stringify recurses: a body nested thousands of levels deep exhausts the stack.
    if (err instanceof RangeError) throw badRequest('The request is nested too deeply.', null, 'request_too_deep');
    throw err;
  }
}

/**
 * Sends a planned chat request. An upstream error on a native prefill gets the provider's one chance
 * to recover (an adjusted body, or the fallback); any other error becomes an OpenAI-shaped error with
 * the upstream's status and message.
 */
export async function callChat(context: ChatCallContext, chat: ChatRequest, prefill: Prefill | undefined, plan: UpstreamPlan): Promise<Exchange> {
  const { provider, upstream, headers, signal } = context;
  const send = async (current: UpstreamPlan): Promise<UpstreamResponse> => {
    const body = serialize(current.body);
    try {
      return await withRetries(
        context.retry,
        signal,
        () => upstream.request({ method: 'POST', path: current.path, headers, body, signal }),
        (reason, delayMs) => context.log.info({ reqId: context.reqId, reason, delayMs }, 'retrying the upstream request'),
      );
    } catch (err) {
      throw upstreamTransportError(err);
    }
  };

  let response = await send(plan);
  if (response.statusCode < 400) return { plan, response };
  const errorText = await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES);
  const recovery =
    plan.response.kind === 'native' && prefill && !Buffer.isBuffer(plan.body)
      ? provider.recoverFromError?.(response.statusCode, errorText, plan.body as JsonBody)
      : undefined;
  if (!recovery) throw upstreamHttpError(response.statusCode, errorText, response.headers['retry-after']);
  let next: UpstreamPlan;
  if ('fallback' in recovery) {
    context.log.debug({ reqId: context.reqId, status: response.statusCode }, 'upstream cannot prefill this request; applying PREFILL_FALLBACK');
    next = planFallback(provider, context.settings, chat, prefill!);
  } else {
    context.log.debug({ reqId: context.reqId, status: response.statusCode }, 'upstream refused the first prefill form; retrying adjusted');
    next = { ...plan, body: recovery.retryBody };
  }
  response = await send(next);
  if (response.statusCode >= 400) {
    throw upstreamHttpError(response.statusCode, await readBodyText(response.body, MAX_UPSTREAM_BODY_BYTES), response.headers['retry-after']);
  }
  return { plan: next, response };
}
