import { badRequest, invalidUpstreamResponse, upstreamHttpError, upstreamTransportError, ProxyError } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import type { CapabilityMemory } from '../providers/capability-memory.js';
import { jsonBodyOf, type JsonBody, type Provider, type ProviderCallContext } from '../providers/types.js';
import type { CancelSignal } from '../upstream/client-gone.js';
import type { RequestSecrets } from '../auth/secrets.js';
import type { UpstreamLimits } from '../config/types.js';
import { abandonBody, drainBody, readBody, readBodyText } from '../upstream/read-body.js';
import { withRetries, type RetryPolicy } from '../upstream/retry.js';
import type { Upstream, UpstreamResponse } from '../upstream/types.js';
import type { ChatRequest } from '../chat/schema.js';
import { planFallback, type PlanSettings } from './plan.js';
import type { RequestTelemetry } from './telemetry.js';
import type { CallPlan } from './types.js';


/** What every upstream call of one request shares. */
export interface CallContext {
  provider: Provider;
  upstream: Upstream;
  settings: PlanSettings;
  headers: Record<string, string>;
  signal: CancelSignal;
  retry: RetryPolicy;
  telemetry: RequestTelemetry;
  /** Streamed calls must be answered with an event stream. */
  stream: boolean;
  /** What the provider learned about this upstream. */
  memory: CapabilityMemory<unknown>;
  limits: UpstreamLimits;
  /** Keys never relayed: upstream error messages are cleaned of them. */
  secrets: RequestSecrets;
  /** Live streams (see RunEnvironment). */
  streams: Set<{ shutdown(): void }>;
  /** Where a model's refusal of prefill is remembered, and its key (upstream and model). */
  learned: { memory: CapabilityMemory<boolean>; key: string };
}

/** Side requests (a llama.cpp template probe) read at most this much, within this time. */
const SIDE_ANSWER_BYTES = 4 * 1024 * 1024;
const SIDE_REQUEST_MS = 5000;

/** A successful upstream answer (status < 400, body not yet read) and the plan that produced it. */
export interface Exchange {
  plan: CallPlan;
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
 * Sends one planned call: retried where the request cannot have reached the model, with the provider's
 * one chance to recover from an error on a native prefill (an adjusted body, or the fallback). Every
 * answer and failure is reported to the request's telemetry here. Any error becomes a ProxyError.
 */
export async function callUpstream(context: CallContext, chat: ChatRequest, prefill: Prefill | undefined, plan: CallPlan): Promise<Exchange> {
  try {
    return await send(context, chat, prefill, plan);
  } catch (err) {
    const error = err instanceof ProxyError ? err : upstreamTransportError(err);
    if (!isClientError(error)) context.telemetry.upstreamFailed(error);
    throw error;
  }
}

/** Errors that are the client's, not the upstream's. */
function isClientError(error: ProxyError): boolean {
  return error.code === 'prefill_not_supported' || error.code === 'request_too_deep' || error.code === 'client_closed_request';
}

async function send(context: CallContext, chat: ChatRequest, prefill: Prefill | undefined, planned: CallPlan): Promise<Exchange> {
  const { provider, telemetry } = context;
  let plan = planned;
  if (provider.prepareCall && prefill && plan.answer.kind === 'native') {
    const prepared = provider.prepareCall(providerContext(context), chat, prefill, plan, { thinkTags: context.settings.thinkTags });
    plan = prepared instanceof Promise ? await prepared : prepared;
  }
  let response = await attempt(context, plan);
  if (response.statusCode < 400) return { plan, response: checked(context, response, plan) };
  const errorText = context.secrets.redact(await readBodyText(response.body, context.limits.maxBodyBytes));
  const recovery =
    plan.answer.kind === 'native' && prefill && provider.recoverFromError ? provider.recoverFromError(response.statusCode, errorText, jsonBodyOf(plan.body)) : undefined;
  if (!recovery) throw upstreamHttpError(response.statusCode, errorText, response.headers);
  let next: CallPlan;
  if ('fallback' in recovery) {
    // Remembered, so the next request for this model goes straight to the fallback (one wasted call, once).
    context.learned.memory.set(context.learned.key, false);
    telemetry.note({ status: response.statusCode, learned: context.learned.key }, 'upstream cannot prefill this request; applying PREFILL_FALLBACK');
    next = planFallback(provider, context.settings, chat, prefill!);
  } else {
    telemetry.note({ status: response.statusCode }, 'upstream refused the first prefill form; retrying adjusted');
    next = { ...plan, body: recovery.retryBody };
  }
  response = await attempt(context, next);
  if (response.statusCode >= 400) {
    throw upstreamHttpError(response.statusCode, context.secrets.redact(await readBodyText(response.body, context.limits.maxBodyBytes)), response.headers);
  }
  return { plan: next, response: checked(context, response, next) };
}

async function attempt(context: CallContext, plan: CallPlan): Promise<UpstreamResponse> {
  const { upstream, headers, signal, telemetry } = context;
  const body = serialize(plan.body);
  const started = performance.now();
  try {
    const response = await withRetries(
      context.retry,
      signal,
      () => upstream.request({ method: 'POST', path: plan.path, headers, body, signal, reset: context.stream && context.provider.closesConnectionAfterStream === true }),
      (reason, delayMs) => telemetry.retrying(reason, delayMs),
    );
    telemetry.upstreamAnswered(performance.now() - started);
    return response;
  } catch (err) {
    throw upstreamTransportError(err);
  }
}

/** A whole answer's body, read (bounded); a failure is the upstream's, counted as such. */
export async function readAnswer(context: CallContext, response: UpstreamResponse, limitBytes = context.limits.maxBodyBytes): Promise<Buffer> {
  const length = Number(response.headers['content-length']);
  try {
    return await readBody(response.body, limitBytes, length >= 0 ? length : undefined);
  } catch (err) {
    const error = err instanceof ProxyError ? err : upstreamTransportError(err);
    context.telemetry.upstreamFailed(error);
    throw error;
  }
}

/** What a provider may do before a call: side requests to the same upstream, and its memory. */
function providerContext(context: CallContext): ProviderCallContext {
  return {
    memory: context.memory,
    async sideRequest(path, body) {
      const headers = { ...context.headers, accept: 'application/json' };
      // Bounded in time and size, and only a JSON answer is read: a server that answers the probe with
      // something else (a stream, a page) costs nothing more.
      const response = await context.upstream.request({ method: 'POST', path, headers, body: JSON.stringify(body), signal: AbortSignal.timeout(SIDE_REQUEST_MS) });
      if (!/json/i.test(String(response.headers['content-type'] ?? ''))) {
        abandonBody(response.body);
        return { status: response.statusCode, body: undefined };
      }
      const text = await readBodyText(response.body, SIDE_ANSWER_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: response.statusCode, body: parsed };
    },
  };
}

/** A streamed call must be answered with an event stream; anything else is the upstream's fault. */
function checked(context: CallContext, response: UpstreamResponse, plan: CallPlan): UpstreamResponse {
  if (!context.stream) return response;
  const contentType = String(response.headers['content-type'] ?? '');
  // SSE for most dialects; Bedrock frames its streams as AWS event-stream.
  const expected = (plan.answers ?? context.provider.answers).streamContentType ?? 'text/event-stream';
  if (contentType.includes(expected)) return response;
  drainBody(response.body);
  throw invalidUpstreamResponse(`The upstream answered a streaming request with "${contentType || 'no content type'}" instead of an event stream.`);
}
