import type { ChatRequest } from '../chat/schema.js';
import type { Prefill } from '../prefill/detect.js';

export const PROVIDER_IDS = [
  'mock',
  'llamacpp',
  'vllm',
  'sglang',
  'tgi',
  'tabbyapi',
  'ollama',
  'openai',
  'openai-compatible',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A JSON request body on its way upstream. */
export type JsonBody = Record<string, unknown>;

export interface NativePrefillRequest {
  body: JsonBody;
  /** The final assistant text as the upstream sees it: what it may repeat before the continuation. */
  upstreamPrefix: string;
}

/**
 * One upstream dialect. Each provider module owns its quirks: how prefill is expressed, how the key is
 * sent, whether the prefix comes back in the answer, and which of its errors deserve a second try.
 */
export interface Provider {
  readonly id: ProviderId;
  /** Whether the upstream can continue a partial assistant message itself. */
  readonly nativePrefill: boolean;
  /** How prefill is expressed upstream, in words (shown in logs and model info). */
  readonly nativeForm: string;
  /**
   * Whether the answer may start with a copy of the prefix. `sometimes` = detect and strip exactly the
   * prefix when it is there (builds differ); `never` = the answer is passed on as it comes.
   */
  readonly echoesPrefix: 'never' | 'sometimes';
  /**
   * The upstream rejects request fields it does not know (OpenAI does), so the proxy's own fields
   * (`echo`, `continue_final_message`, a message's `prefix`/`partial`) are removed even from requests
   * that are otherwise forwarded untouched.
   */
  readonly rejectsUnknownFields: boolean;
  /** Chat Completions path below the upstream's base path. */
  readonly chatPath: string;
  /** Model list path below the upstream's base path. */
  readonly modelsPath: string;
  authHeaders(apiKey: string | undefined): Record<string, string>;
  /** The request in the upstream's native prefill form. Only called when `nativePrefill`. */
  prefillRequest(request: ChatRequest, prefill: Prefill): NativePrefillRequest;
  /**
   * A second, adjusted body after a specific upstream error (for example a build that rejects
   * prefill with thinking enabled), or undefined to pass the error on.
   */
  retryBodyAfterError?(status: number, errorText: string, body: JsonBody): JsonBody | undefined;
}
