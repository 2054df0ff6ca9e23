import type { IncomingHttpHeaders } from 'node:http';
import { upstreamKey } from '../auth/keys.js';
import type { ChatRequest } from '../chat/schema.js';
import { proxyError } from '../errors.js';
import { detectPrefill, parsePrefillMode, type PrefillMode } from '../prefill/detect.js';
import type { Route } from '../routing/router.js';
import { upstreamRequestHeaders } from '../upstream/headers.js';
import type { AppContext } from './context.js';
import { canPrefillNatively, planCall, requestSettings } from './plan.js';
import type { RequestTelemetry } from './telemetry.js';
import { continuationStage, continuationsOf } from './continuations.js';
import { chainStages } from './follow-up.js';
import { budgetOf, thinkingBudgetStage } from './thinking-budget.js';
import type { CallPlan, PipelineRequest, PlannedCall, Prepared } from './types.js';

/**
 * The pipeline's first half: route the request, settle its prefill mode, detect the prefill, choose
 * the stage (the thinking budget) and plan the first upstream call. Nothing is sent: the preview and
 * model-info routes use this as it is.
 */
export function prepare(context: AppContext, request: PipelineRequest, telemetry: RequestTelemetry | undefined): Prepared {
  const decided = decide(context, request, telemetry);
  const { route, chat, prefill, renamed } = decided;
  const provider = route.target.provider;
  const settings = decided.settings;
  const budget = budgetOf(chat, prefill, provider);
  const continuations = continuationsOf(chat, route.maxContinuations, context.config.maxContinuationsLimit);
  // Most requests have no stage: nothing is built for them.
  const stage =
    budget === undefined && continuations === 0
      ? undefined
      : chainStages([
          ...(budget === undefined ? [] : [thinkingBudgetStage(chat, prefill, budget)]),
          ...(continuations > 0 ? [continuationStage(chat, prefill, continuations)] : []),
        ]);
  let first: PlannedCall;
  // The door's own body goes natively unless a stage must change the first call (the budget caps it).
  const native = stage?.adjustsFirstCall ? undefined : nativePlan(decided);
  if (native) {
    first = { chat, prefill, plan: native };
  } else if (stage) {
    const call = stage.first(decided);
    const plan = planCall(provider, settings, call.chat, call.prefill, undefined);
    first = { chat: call.chat, prefill: call.prefill, plan: call.splitThinking ? withThinkingSplit(plan, settings.thinkTags) : plan };
  } else {
    // A renamed model changes the body: it cannot go as the client's bytes.
    first = { chat, prefill, plan: planCall(provider, settings, chat, prefill, renamed ? undefined : request.raw) };
  }
  if (telemetry) telemetry.prefill = first.plan.answer.kind;
  return { ...decided, stage, first };
}

export type Decided = Omit<Prepared, 'first' | 'stage'>;

/**
 * The door's own body, sent as it came to an upstream that speaks the door's format (a Responses request
 * to OpenAI), when the provider takes it for this request; its answer then passes untouched.
 */
function nativePlan({ request, route, chat, prefill, settings }: Decided): CallPlan | undefined {
  const native = request.native;
  const provider = route.target.provider;
  if (!native || !provider.nativeCall) return undefined;
  // A prefill this upstream cannot continue (Claude 4.6 and later, a configured or learned refusal)
  // takes PREFILL_FALLBACK, which goes through the request model.
  if (prefill && !canPrefillNatively(provider, settings, chat)) return undefined;
  // The model as routed (renamed for the upstream, or a fallback's), like every other call.
  return provider.nativeCall(native.wire, native.body.model === chat.model ? native.body : { ...native.body, model: chat.model }, prefill);
}

/** Route, prefill mode and prefill of a request (`route` given: as that route would take it). */
export function decide(context: AppContext, request: PipelineRequest, telemetry: RequestTelemetry | undefined, given?: Route): Decided {
  if (telemetry) telemetry.model = request.chat.model ?? null;
  const { route, chat, renamed } = given ? routed(given, request.chat) : routeFor(context, request.chat);
  const { provider, spec } = route.target;
  if (telemetry) {
    telemetry.routeLabel = route.label;
    telemetry.providerId = provider.id;
  }
  const mode = modeFor(request.headers, route);
  const prefill = detectPrefill(chat, mode);
  if (!prefill && mode === 'explicit' && provider.noNewTurnAfterAssistant) refuseFinishedTurn(chat, provider.id);
  // Built in place (one object per request): the client's headers worth forwarding, then the proxy's.
  const upstreamHeaders = upstreamRequestHeaders(request.headers);
  upstreamHeaders['content-type'] = 'application/json';
  upstreamHeaders.accept = request.options.stream ? 'text/event-stream' : 'application/json';
  Object.assign(upstreamHeaders, provider.authHeaders(upstreamKey(spec, request.headers)));
  const settings = requestSettings(route, chat.model, context.prefillCapabilities);
  return { request, route, chat, renamed, mode, prefill, upstreamHeaders, settings };
}

/**
 * In mode `explicit` a bare trailing assistant message is a finished turn and the model should answer
 * anew; an upstream that can only continue it (or refuses it) gets a clear 400 instead of a silent
 * continuation under `x-prefill: none`.
 */
function refuseFinishedTurn(chat: ChatRequest, providerId: string): void {
  const index = chat.messages.length - 1;
  const last = chat.messages[index];
  if (last?.role !== 'assistant' || last.prefix === false || last.partial === false) return;
  if (Array.isArray(last.tool_calls) && last.tool_calls.length > 0) return;
  const empty = (last.content === undefined || last.content === null || last.content === '' || (Array.isArray(last.content) && last.content.length === 0)) && !last.reasoning_content;
  if (empty) return;
  throw proxyError(
    'prefill_mode_unsupported',
    `In x-prefill-mode explicit a trailing assistant message without "prefix": true is a finished turn, but this upstream (${providerId}) ` +
      'cannot start a new assistant turn after one: it would continue the message. End the conversation with a user message, ' +
      'or mark the message "prefix": true to have it continued.',
    { param: `messages[${index}]` },
  );
}

/** A call whose answer may open with thinking in tags: split it off, whatever the provider. */
export function withThinkingSplit(plan: CallPlan, tags: { open: string; close: string }): CallPlan {
  if (plan.answer.thinkingInContent) return plan;
  return { ...plan, answer: { ...plan.answer, thinkingInContent: { tags, startsInside: false } } };
}

/** The route of a request: 404 for a model no entry matches. */
function routeFor(context: AppContext, chat: ChatRequest): { route: Route; chat: ChatRequest; renamed: boolean } {
  const route = context.router.resolve(chat.model);
  if (!route) {
    throw proxyError('model_not_found', `The model "${chat.model}" does not exist on this proxy: see GET /v1/models.`, { param: 'model' });
  }
  return routed(route, chat);
}

function routed(route: Route, chat: ChatRequest): { route: Route; chat: ChatRequest; renamed: boolean } {
  const renamed = route.upstreamModel !== undefined && route.upstreamModel !== chat.model;
  return { route, chat: renamed ? { ...chat, model: route.upstreamModel } : chat, renamed };
}

/** The request's prefill mode: the x-prefill-mode header, else the route's (model, upstream, environment). */
export function modeFor(headers: IncomingHttpHeaders, route: Route): PrefillMode {
  const header = headers['x-prefill-mode'];
  return header === undefined ? route.mode : parsePrefillMode(Array.isArray(header) ? header.join(',') : header, 'x-prefill-mode');
}
