import type { IncomingHttpHeaders } from 'node:http';
import { upstreamKey } from '../auth/keys.js';
import type { ChatRequest } from '../chat/schema.js';
import { proxyError } from '../errors.js';
import { detectPrefill, parsePrefillMode, type PrefillMode } from '../prefill/detect.js';
import type { Route } from '../routing/router.js';
import { upstreamRequestHeaders } from '../upstream/headers.js';
import type { AppContext } from './context.js';
import { planCall, routeSettings } from './plan.js';
import type { RequestTelemetry } from './telemetry.js';
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
  const settings = routeSettings(route);
  const budget = budgetOf(chat, prefill, provider);
  const stage = budget === undefined ? undefined : thinkingBudgetStage(chat, prefill, budget);
  let first: PlannedCall;
  if (stage) {
    const call = stage.first(decided);
    const plan = planCall(provider, settings, call.chat, call.prefill, undefined);
    first = { chat: call.chat, prefill: call.prefill, plan: call.splitThinking ? withThinkingSplit(plan, settings.thinkTags) : plan };
  } else {
    // A renamed model changes the body: it cannot go as the client's bytes.
    first = { chat, prefill, plan: planCall(provider, settings, chat, prefill, renamed ? undefined : (request.raw ?? Buffer.alloc(0))) };
  }
  if (telemetry) telemetry.prefill = first.plan.answer.kind;
  return { ...decided, stage, first };
}

export type Decided = Omit<Prepared, 'first' | 'stage'>;

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
  const upstreamHeaders: Record<string, string> = {
    ...upstreamRequestHeaders(request.headers),
    'content-type': 'application/json',
    accept: request.options.stream ? 'text/event-stream' : 'application/json',
    ...provider.authHeaders(upstreamKey(spec, request.headers)),
  };
  return { request, route, chat, renamed, mode, prefill, upstreamHeaders };
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
function modeFor(headers: IncomingHttpHeaders, route: Route): PrefillMode {
  const header = headers['x-prefill-mode'];
  return header === undefined ? route.mode : parsePrefillMode(Array.isArray(header) ? header.join(',') : header, 'x-prefill-mode');
}
