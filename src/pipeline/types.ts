import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Answer, AnswerEvent } from '../answer/types.js';
import type { ChatRequest } from '../chat/schema.js';
import type { ProxyError } from '../errors.js';
import type { AnswerPlan } from '../prefill/answer-plan.js';
import type { Prefill, PrefillMode } from '../prefill/detect.js';
import type { JsonBody, UpstreamCall, WireFormat } from '../providers/types.js';
import type { PrefillFallback } from '../config/types.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import type { Route } from '../routing/router.js';

/**
 * The pipeline's request and result. A door (an HTTP front door: Chat Completions, ...) turns its wire
 * format into a PipelineRequest and a PipelineResult back into its wire format; everything between
 * (routing, prefill detection, the upstream calls, rewriting the answer) is door-neutral.
 */

export type DoorId = 'chat' | 'messages' | 'responses';

/** How the client wants its answer, read by the door from its own wire format. */
export interface AnswerOptions {
  stream: boolean;
  /** Give the prefixes back in front of the continuation. */
  echo: boolean;
  /** Streams: usage goes to the client at the end (Chat Completions: `stream_options.include_usage`). */
  includeUsage: boolean;
  /** The proxy's thinking budget, in tokens. */
  thinkingBudget: number | undefined;
}

export interface PipelineRequest {
  door: DoorId;
  /** The conversation in the request model (OpenAI's message list, which every provider reads). */
  chat: ChatRequest;
  /** The client's bytes, when they are the request model's own JSON and may go upstream untouched. */
  raw: Buffer | undefined;
  options: AnswerOptions;
  /** The client's headers: `x-prefill-mode`, its key (for UPSTREAM_KEY_FROM_CLIENT), headers to forward. */
  headers: IncomingHttpHeaders;
  /**
   * The door's own body, for an upstream that speaks the door's format natively (a Messages request
   * to Anthropic goes as Messages, so nothing the request model cannot carry is lost).
   */
  native?: { wire: WireFormat; body: JsonBody };
  /**
   * What the door's request needs of a route beyond the request model: the 400 for a route that
   * cannot take all of it (a part only the door's own format carries, an option the upstream cannot
   * honour), or undefined. The pipeline asks it of the first route (its error is the answer) and of
   * every fallback (one that cannot take the request is passed over), so a request never goes to a
   * fallback with a part silently left out.
   */
  refuseRoute?: (prepared: Prepared) => ProxyError | undefined;
}

/** What decides a call's form besides the request: the route's prefill settings. */
export interface PlanSettings {
  fallback: PrefillFallback;
  thinkTags: ThinkTags;
  /** A model's configured `supports_assistant_prefill` (or a learned refusal), overriding the provider. */
  supportsPrefill?: boolean;
}

/** One upstream call, planned: where it goes, what it sends, what its answer needs. */
export type CallPlan = UpstreamCall;

/** A request, routed and decided: everything needed to call the upstream, or to preview the call. */
export interface Prepared {
  request: PipelineRequest;
  route: Route;
  /** The conversation as the upstream gets it (the model renamed to the upstream's name). */
  chat: ChatRequest;
  /** The model name changed on the way: the client's bytes cannot go as they are. */
  renamed: boolean;
  mode: PrefillMode;
  prefill: Prefill | undefined;
  /** Headers for every upstream call of this request (the key included). */
  upstreamHeaders: Record<string, string>;
  /** The prefill settings of this request (the route's, and what was learned about the model). */
  settings: PlanSettings;
  /** The stage that may call again with a prefill (the thinking budget), when one applies. */
  stage: FollowUpStage | undefined;
  /** The first call. */
  first: PlannedCall;
}

/** A call's request in the request model, with its prefill, and its plan. */
export interface PlannedCall {
  chat: ChatRequest;
  prefill: Prefill | undefined;
  plan: CallPlan;
}

/** What the answer holds so far, over all calls: the model's own text (no echo) of choice 0. */
export interface SoFar {
  reasoning: string;
  content: string;
  /** The last call's finish reason. */
  finishReason: string | null;
  /** Completion tokens over all calls (from usage where the upstream reported it). */
  completionTokens: number;
  /** The last call's completion tokens, when reported. */
  lastCallTokens: number | undefined;
  calls: number;
}

/**
 * A stage of the "call again with what we have so far as a prefill" loop. The thinking budget is one;
 * continuing past the output limit and resuming a broken stream build on the same loop.
 */
export interface FollowUpStage {
  readonly name: string;
  /** The first call is not the client's own (the budget caps it): it cannot go as the door's native body. */
  readonly adjustsFirstCall: boolean;
  /** The first call's request and prefill (the client's, or adjusted: capped at a budget). */
  first(prepared: Omit<Prepared, 'first' | 'stage'>): { chat: ChatRequest; prefill: Prefill | undefined; splitThinking: boolean };
  /** After a call: the next call's request and prefill, or undefined when the answer is complete. */
  next(soFar: SoFar): { chat: ChatRequest; prefill: Prefill } | undefined;
}

/** What a door gives the pipeline: how its wire format encodes answers. */
export interface Door {
  readonly id: DoorId;
  /** The upstream wire format whose bytes this door can pass on untouched. */
  readonly wire: WireFormat;
  /** A whole answer as the response body. */
  encodeAnswer(answer: Answer, prepared: Prepared): string;
  /** An encoder for one streamed answer. */
  streamEncoder(prepared: Prepared): StreamEncoder;
  /** An error response's body in the door's shape (its status is the error's). */
  errorBody(error: ProxyError): unknown;
}

/** Encodes a streamed answer's events in a door's wire format. */
export interface StreamEncoder {
  /** One event's bytes for the client ('' for nothing). */
  event(event: AnswerEvent): string;
  /** The answer is complete: what closes the stream (Chat Completions: `[DONE]`). */
  end(): string;
  /** The answer failed mid-way: the door's error event (the stream then ends without its closing marker). */
  error(error: ProxyError): string;
}

/**
 * Where a streamed answer's bytes go: the client's response, written to directly. (A Readable in
 * between, piped by Fastify, cost a buffer, a tick and the pipe's listeners on every chunk of every
 * stream.)
 */
export interface AnswerSink {
  /** Writes bytes on; false when the client is not keeping up (the answer then waits for `drained`). */
  write(bytes: string | Buffer): boolean;
  /** The answer is over: complete, or ended with the door's error event. */
  end(): void;
}

/** A streamed answer, ready to go: the upstream is answering, the client has nothing yet. */
export interface StreamedAnswer {
  /** Sends the answer into `sink` as the upstream answers (what came before this was held, and goes first). */
  start(sink: AnswerSink): void;
  /** The sink caught up after a `write` returned false: reading the upstream goes on. */
  drained(): void;
  /** The client went away: the upstream is let go and nothing more is written. */
  abandon(): void;
}

/** The pipeline's result, before anything is written to the client. */
export type PipelineResult = (
  /** The upstream's own bytes, in the door's wire format: they go as they came. */
  | { kind: 'bytes'; status: number; headers: Record<string, string | string[]>; body: Buffer | Readable; length: number | undefined; prefill: AnswerPlan['kind'] }
  /** A whole answer, for the door to encode. */
  | { kind: 'answer'; status: number; headers: Record<string, string | string[]>; answer: Answer; prefill: AnswerPlan['kind'] }
  /** A streamed answer: the door's bytes, produced as the upstream answers. */
  | { kind: 'stream'; status: number; headers: Record<string, string | string[]>; body: StreamedAnswer; prefill: AnswerPlan['kind'] }
) & {
  /** The upstream (its configured name) that started the answer. */
  upstream?: string;
};
