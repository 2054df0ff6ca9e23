import type { ChatRequest } from '../chat/schema.js';
import type { Prefill } from '../prefill/detect.js';
import type { ThinkTags } from '../prefill/reasoning.js';
import type { SseEvent } from '../sse/parser.js';

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

/** A request in the upstream's form. */
export interface UpstreamBody {
  body: JsonBody;
  /** Path below the upstream's base path, when it differs from the provider's `chatPath`. */
  path?: string;
}

export interface PrefillOptions {
  /** Tags that wrap thinking for models without a native reasoning field. */
  thinkTags: ThinkTags;
}

export interface NativePrefillRequest extends UpstreamBody {
  /**
   * Text the upstream may put in front of the continuation, stripped when it is there: the final
   * assistant text as the upstream saw it (for upstreams that repeat it), or whitespace the proxy
   * removed from the prefix (so it is not doubled). Undefined when nothing can come back.
   */
  repeated?: string;
  /**
   * Set when the reasoning prefix was rendered in thinking tags inside the content: the answer's content
   * then holds thinking in tags too (starting inside it when the model continues its thinking), which the
   * proxy moves to `reasoning_content`.
   */
  thinkingInContent?: { startsInside: boolean };
}

/** What a provider wants after an upstream error on a prefill request. */
export type ErrorRecovery =
  /** Send this adjusted body once more. */
  | { retryBody: JsonBody }
  /** The upstream cannot prefill this request after all: apply PREFILL_FALLBACK. */
  | { fallback: true };

/** One OpenAI chat-completion chunk, or the end of the stream, or an error to pass on. */
export type TranslatedEvent =
  | { kind: 'chunk'; chunk: Record<string, unknown> }
  /** Passed on exactly as received (usage-only chunks, comments' absence aside, unknown events). */
  | { kind: 'raw'; event: string | undefined; data: string }
  | { kind: 'done' }
  | { kind: 'error'; error: { message: string; type: string; param: string | null; code: string | number | null } };

export interface StreamTranslator {
  /** Turns one upstream SSE event into what the client should see, in order. */
  translate(event: SseEvent): TranslatedEvent[];
  /** The upstream ended the stream: anything owed (an error for a stream cut short). */
  end?(): TranslatedEvent[];
}

/** For upstreams that do not speak OpenAI Chat Completions: their answers, translated. */
export interface ResponseDialect {
  completion(body: unknown, request: ChatRequest): Record<string, unknown>;
  streamTranslator(request: ChatRequest): StreamTranslator;
}

/**
 * One upstream dialect. Each provider module owns its quirks: how prefill is expressed, how the key is
 * sent, which paths and fields it takes, whether the prefix comes back in the answer, which of its
 * errors deserve a second try, and (for non-OpenAI APIs) how its answers translate.
 */
export interface Provider {
  readonly id: ProviderId;
  /** How prefill is expressed upstream, in words (shown in logs and model info). */
  readonly nativeForm: string;
  /** Chat Completions path below the upstream's base path. */
  readonly chatPath: string;
  /** Model list path below the upstream's base path. */
  readonly modelsPath: string;
  authHeaders(apiKey: string | undefined): Record<string, string>;
  /** Whether the upstream can continue this request's partial assistant message itself. */
  supportsPrefill(request: ChatRequest): boolean;
  /** The request in the upstream's native prefill form. Only called when `supportsPrefill`. */
  prefillRequest(request: ChatRequest, prefill: Prefill, options: PrefillOptions): NativePrefillRequest;
  /**
   * A request that is not a native prefill (an ordinary one, or an emulated prefill) in the upstream's
   * form; undefined means the client's own bytes can go as they are.
   */
  forwardRequest(request: ChatRequest, rewritten: boolean): UpstreamBody | undefined;
  /** What to do after an upstream error on a native prefill request; undefined passes the error on. */
  recoverFromError?(status: number, errorText: string, body: JsonBody): ErrorRecovery | undefined;
  /** Present when answers are not OpenAI-shaped and must be translated. */
  readonly dialect?: ResponseDialect;
  /** The upstream bounds thinking itself when given `reasoning_budget_tokens` (Anthropic's budget_tokens). */
  readonly nativeThinkingBudget?: boolean;
  /** Removes a provider-specific suffix from the configured base path (DeepSeek's `/beta`). */
  normalizeBasePath?(basePath: string): string;
}
