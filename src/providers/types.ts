import type { Answer, AnswerEvent, ChoiceTextFields } from '../answer/types.js';
import type { ChatRequest } from '../chat/schema.js';
import type { AnswerPlan } from '../prefill/answer-plan.js';
import type { Prefill } from '../prefill/detect.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import type { CapabilityMemory } from './capability-memory.js';

export const PROVIDER_IDS = [
  'mock',
  'llamacpp',
  'vllm',
  'sglang',
  'tgi',
  'tabbyapi',
  'ollama',
  'deepseek',
  'mistral',
  'anthropic',
  'gemini',
  'bedrock',
  'groq',
  'openrouter',
  'kimi',
  'dashscope',
  'openai',
  'openai-compatible',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A JSON request body on its way upstream. */
export type JsonBody = Record<string, unknown>;

/** A call's body as JSON: bytes (the client's, with a provider's fields added) are parsed back. */
export function jsonBodyOf(body: Buffer | JsonBody): JsonBody {
  return Buffer.isBuffer(body) ? (JSON.parse(body.toString('utf8')) as JsonBody) : body;
}

/** A request in the upstream's form. */
export interface UpstreamBody {
  body: JsonBody;
  /** Path below the upstream's base path, when it differs from the provider's `chatPath`. */
  path?: string;
}

export interface PrefillOptions {
  /** Tags that wrap thinking for models without a native reasoning field. */
  thinkTags: ThinkTags;
  /**
   * The client's bytes, when the request is as the client sent it: a provider whose prefill form only
   * adds fields to such a body may add them to these bytes instead of re-serializing the request.
   */
  raw?: Buffer;
}

export interface NativePrefillRequest extends Omit<UpstreamBody, 'body'> {
  /** The upstream's body: JSON, or the client's bytes with the provider's fields added (see PrefillOptions.raw). */
  body: JsonBody | Buffer;
  /**
   * Text the upstream may put in front of the continuation, stripped when it is there: the final
   * assistant text as the upstream saw it (for upstreams that repeat it), or whitespace the proxy
   * removed from the prefix (so it is not doubled). Undefined when nothing can come back.
   */
  repeated?: string;
  /** Reasoning the upstream may repeat in its reasoning field (see AnswerPlan.repeatedReasoning). */
  repeatedReasoning?: { text: string; closed: boolean };
  /**
   * Set when the reasoning prefix was rendered in thinking tags inside the content: the answer's content
   * then holds thinking in tags too (starting inside it when the model continues its thinking), which the
   * proxy moves to `reasoning_content`.
   */
  thinkingInContent?: { startsInside: boolean };
}

/** One upstream call, planned: where it goes, what it sends, what its answer needs. */
export interface UpstreamCall {
  /** Path below the upstream's base path. */
  path: string;
  /** Raw client bytes (forwarded untouched) or a JSON body in the upstream's form. */
  body: Buffer | JsonBody;
  answer: AnswerPlan;
  /** How this call's answer reads, when not as the provider's usual answers (llama.cpp's raw route). */
  answers?: AnswerDecoder;
}

/** What a provider may use just before a call: side requests to its upstream, and what it learned. */
export interface ProviderCallContext {
  /** A request to the same upstream with the call's headers, its JSON answer read whole (bounded). */
  sideRequest(path: string, body: JsonBody): Promise<{ status: number; body: unknown }>;
  /** What was learned about this upstream at run time. */
  memory: CapabilityMemory<unknown>;
}

/** What a provider wants after an upstream error on a prefill request. */
export type ErrorRecovery =
  /** Send this adjusted body once more. */
  | { retryBody: JsonBody }
  /** The upstream cannot prefill this request after all: apply PREFILL_FALLBACK. */
  | { fallback: true };

/** The wire formats answers come in. A door that speaks the upstream's format can take its bytes untouched. */
export type WireFormat = 'openai-chat' | 'anthropic-messages' | 'openai-responses' | 'llamacpp-completion' | 'bedrock-converse' | 'gemini';

export interface DecoderOptions {
  /** The largest event held (UPSTREAM_MAX_EVENT_BYTES); beyond it the decoder emits an error event. */
  maxEventBytes: number;
}

/** The error event of a stream whose event would not fit (see DecoderOptions). */
export function eventTooLarge(maxEventBytes: number): AnswerEvent {
  return {
    type: 'error',
    error: { status: 502, message: `The upstream sent a stream event larger than ${maxEventBytes} bytes (UPSTREAM_MAX_EVENT_BYTES).`, type: 'upstream_error', code: 'upstream_event_too_large', param: null },
  };
}

/** Turns an upstream's streamed answer, as bytes arrive, into the pipeline's events. */
export interface StreamDecoder {
  write(bytes: Buffer): void;
  /** For SSE dialects: nothing of a next event has been read yet (the stream may switch to raw bytes here). */
  readonly atEventBoundary?: boolean;
  /** The upstream ended the stream. */
  end(): void;
}

/** How a provider's answers read: whole and streamed, into the pipeline's door-neutral answer. */
export interface AnswerDecoder {
  readonly wire: WireFormat;
  /**
   * The content type a streamed answer must have, when not `text/event-stream` (Bedrock's binary
   * `application/vnd.amazon.eventstream`).
   */
  readonly streamContentType?: string;
  /** True when these bytes, the end of a stream passed untouched, end with the wire format's end-of-stream marker. */
  endsWithTerminator(bytes: Buffer): boolean;
  /** A whole answer's parsed JSON body; throws on a body that is not this dialect's answer. */
  whole(body: unknown, request: ChatRequest): Answer;
  /**
   * For a wire that is also a door's (Chat Completions): when the parsed whole answer is already what
   * that door's encoder would write for it, applies `rewrite` to each choice's text in place (and adds
   * the fields the door always writes) and returns true, so the body can be re-serialized as it is
   * instead of decoded and encoded; false, with nothing changed, when it is not.
   */
  rewriteInPlace?(body: unknown, rewrite: (choice: ChoiceTextFields) => void): boolean;
  /**
   * For a wire that is also a door's: a whole answer whose text needs no change, as that door must send
   * it (the bytes themselves, or with the fields the door always writes added), read from its bytes
   * without decoding it; undefined when its bytes are not of the expected shape (it is then decoded).
   */
  asDoorBytes?(raw: Buffer): Buffer | undefined;
  /** A decoder for one streamed answer; events go to `emit` in order. */
  stream(request: ChatRequest, emit: (event: AnswerEvent) => void, options: DecoderOptions): StreamDecoder;
}

/**
 * One upstream dialect. Each provider module owns its quirks: how prefill is expressed, how the key is
 * sent, which paths and fields it takes, whether the prefix comes back in the answer, which of its
 * errors deserve a second try, and how its answers read.
 */
export interface Provider {
  readonly id: ProviderId;
  /** How prefill is expressed upstream, in words (shown in logs and model info); 'none' without one. */
  readonly nativeForm: string;
  /** Chat path below the upstream's base path. */
  readonly chatPath: string;
  /** Model list path below the upstream's base path. */
  readonly modelsPath: string;
  /**
   * For upstreams whose model list is not OpenAI's `{object: "list", data: [...]}` (Gemini): where to
   * ask for it and how to read it; `GET /v1/models` then answers in OpenAI's shape. Absent: relayed as is.
   */
  readonly modelList?: { path: string; toOpenAI(answer: unknown): OpenAIModel[] };
  readonly answers: AnswerDecoder;
  authHeaders(apiKey: string | undefined): Record<string, string>;
  /**
   * The request in the upstream's native prefill form. Absent for upstreams with no native prefill
   * (the fallback applies); called only when `supportsPrefill` says yes.
   */
  prefillRequest?(request: ChatRequest, prefill: Prefill, options: PrefillOptions): NativePrefillRequest;
  /** Whether the upstream can continue this request's partial assistant message itself. */
  supportsPrefill(request: ChatRequest): boolean;
  /**
   * A request that is not a native prefill (an ordinary one, or an emulated prefill) in the upstream's
   * form; undefined means the client's own bytes can go as they are.
   */
  forwardRequest(request: ChatRequest, rewritten: boolean): UpstreamBody | undefined;
  /**
   * An asynchronous last look at a native prefill call before it is sent, for what depends on the
   * server rather than the request (llama.cpp: what its chat template renders). Returns the call to send:
   * at once when what it needs is already known (the usual case: no promise per request), else a promise.
   */
  prepareCall?(context: ProviderCallContext, request: ChatRequest, prefill: Prefill, call: UpstreamCall, options: PrefillOptions): UpstreamCall | Promise<UpstreamCall>;
  /** What to do after an upstream error on a native prefill request; undefined passes the error on. */
  recoverFromError?(status: number, errorText: string, body: JsonBody): ErrorRecovery | undefined;
  /**
   * The upstream cannot start a new assistant turn after an assistant message: it continues it
   * (llama.cpp, Anthropic, Ollama, Groq, OpenRouter) or refuses it (Mistral). A bare trailing assistant
   * message in mode `explicit` (a finished turn) is then a clear 400 rather than a silent continuation.
   */
  readonly noNewTurnAfterAssistant?: boolean;
  /**
   * The upstream closes the connection after every streamed answer without saying so (`Keep-Alive`
   * still in its headers: llama.cpp's server, both builds tested). Such a connection is not kept: the
   * next request written on it would fail with `upstream_connection_lost`.
   */
  readonly closesConnectionAfterStream?: boolean;
  /** The upstream bounds thinking itself when given `reasoning_budget_tokens` (Anthropic's budget_tokens). */
  readonly nativeThinkingBudget?: boolean;
  /** Removes a provider-specific suffix from the configured base path (DeepSeek's `/beta`). */
  normalizeBasePath?(basePath: string): string;
  /** The base URL used when none is configured (Gemini's public endpoint); without one, a URL is required. */
  readonly defaultBaseUrl?: string;
  /**
   * A request in a front door's own wire format (`wire`), for an upstream that speaks it natively: the
   * call that sends it as it came (nothing the request model cannot carry is lost), or undefined when
   * this upstream does not take that format, or not for this request (`prefill`: the pipeline's reading
   * of it). OpenAI takes a Responses request that is not a prefill this way, its state fields included.
   */
  nativeCall?(wire: WireFormat, body: JsonBody, prefill: Prefill | undefined): UpstreamCall | undefined;
  /** The front doors' formats `nativeCall` takes (for some requests at least): what this upstream speaks besides its dialect. */
  readonly nativeWires?: readonly WireFormat[];
}

/** One entry of OpenAI's model list (`GET /v1/models`). */
export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}
