import { plainText } from '../../chat/content.js';
import { PROXY_ONLY_MESSAGE_FIELDS, hasProxyOnlyFields, withoutProxyFields, withoutProxyRequestFields } from '../../chat/proxy-fields.js';
import type { ChatMessage, ChatRequest } from '../../chat/schema.js';
import type { Prefill } from '../../prefill/detect.js';
import { DEFAULT_THINK_TAGS, type ThinkTags } from '../../prefill/reasoning.js';
import { renderPartialTurn } from '../../prefill/render.js';
import type { JsonBody, NativePrefillRequest, Provider, UpstreamBody } from '../types.js';
import { openAIChatAnswers } from './answers.js';

/**
 * Request shaping shared by the servers that speak OpenAI Chat Completions: their paths, bearer keys,
 * and a prefill as a trailing assistant message (with each server's own markers).
 */

export function bearerAuth(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/**
 * What OpenAI-style servers share: their paths, bearer keys, OpenAI-shaped answers, prefill for every
 * request, and tolerance of unknown fields (an ordinary request goes as the client's own bytes).
 */
export const OPENAI_STYLE = {
  chatPath: '/v1/chat/completions',
  modelsPath: '/v1/models',
  answers: openAIChatAnswers,
  authHeaders: bearerAuth,
  supportsPrefill: () => true,
  forwardRequest: (request: ChatRequest, rewritten: boolean) => (rewritten ? { body: request as JsonBody } : undefined),
} as const satisfies Partial<Provider>;

/** For servers that reject fields they do not know (OpenAI, Groq): the proxy's own fields never go. */
export function forwardWithoutProxyFields(request: ChatRequest, rewritten: boolean): UpstreamBody | undefined {
  if (hasProxyOnlyFields(request)) return { body: withoutProxyFields(request) as JsonBody };
  return rewritten ? { body: request as JsonBody } : undefined;
}

export interface TrailingAssistantOptions {
  messageExtras?: Record<string, unknown>;
  /** Top-level fields added to the body (a module constant: its bytes are kept for the raw splice). */
  bodyExtras?: Readonly<Record<string, unknown>>;
  /** How a reasoning prefix travels (see renderPartialTurn); `tags` by default. */
  reasoning?: 'native' | 'tags';
  thinkTags?: ThinkTags;
}

/**
 * The request with its last message rewritten as a plain assistant message whose content is the
 * rendered partial turn (one string), without the proxy's own flags. `messageExtras` and `bodyExtras`
 * add the native markers.
 */
export function withTrailingAssistant(request: ChatRequest, prefill: Prefill, options: TrailingAssistantOptions = {}): JsonBody {
  const body = withoutProxyRequestFields(request) as JsonBody;
  const last = { ...request.messages[prefill.index] } as ChatMessage & Record<string, unknown>;
  for (const field of PROXY_ONLY_MESSAGE_FIELDS) delete last[field];
  delete last.reasoning_content;
  const turn = renderPartialTurn(prefill, { reasoning: options.reasoning ?? 'tags', thinkTags: options.thinkTags ?? DEFAULT_THINK_TAGS });
  last.content = turn.content;
  if (turn.reasoning !== undefined) last.reasoning_content = turn.reasoning;
  Object.assign(last, options.messageExtras);
  const messages = request.messages.slice(0, prefill.index);
  messages.push(last);
  body.messages = messages;
  Object.assign(body, options.bodyExtras);
  return body;
}

/**
 * The usual native prefill: a trailing assistant message (see withTrailingAssistant), plus what the
 * answer needs: the text to strip when the upstream may repeat it, and whether thinking comes back in
 * tags inside the content.
 */
export function trailingAssistantPrefill(
  request: ChatRequest,
  prefill: Prefill,
  options: TrailingAssistantOptions & { mayRepeat?: boolean; raw?: Buffer },
): NativePrefillRequest {
  const asSent = asClientBytes(request, prefill, options);
  if (asSent) return asSent;
  const body = withTrailingAssistant(request, prefill, options);
  const messages = body.messages as Array<{ content?: unknown }>;
  const sent = messages[messages.length - 1]!.content as string;
  // Only a thought still open comes back in tags (a closed one is over: the answer is content).
  const stillThinking = prefill.reasoning !== undefined && options.reasoning !== 'native' && prefill.continues === 'reasoning';
  return {
    body,
    repeated: options.mayRepeat && sent.length > 0 ? sent : undefined,
    thinkingInContent: stillThinking ? { startsInside: true } : undefined,
  };
}

/**
 * vLLM's chat-template parameters for a prefill, which llama.cpp copied: the last assistant message
 * rendered open-ended, without a new generation prompt after it.
 */
export const CONTINUE_FINAL_MESSAGE = { continue_final_message: true, add_generation_prompt: false } as const;

/**
 * The prefill as the client's own bytes with `bodyExtras` added, when the request needs nothing else
 * (see alreadyTrailingAssistant); undefined when it must be built (withTrailingAssistant).
 */
export function asClientBytes(
  request: ChatRequest,
  prefill: Prefill,
  options: TrailingAssistantOptions & { mayRepeat?: boolean; raw?: Buffer },
): NativePrefillRequest | undefined {
  if (!options.raw || !alreadyTrailingAssistant(request, prefill, options)) return undefined;
  const body = withBodyExtras(options.raw, options.bodyExtras);
  return body && { body, repeated: options.mayRepeat && prefill.prefix.length > 0 ? prefill.prefix : undefined };
}

/**
 * True when the request is already the body withTrailingAssistant would build, but for `bodyExtras`:
 * the prefill is the last message, its content the prefix as a string (no reasoning to render), no
 * proxy-only field anywhere, no message extras, and none of the extra fields set by the client.
 */
export function alreadyTrailingAssistant(request: ChatRequest, prefill: Prefill, options: TrailingAssistantOptions): boolean {
  const messages = request.messages;
  if (prefill.index !== messages.length - 1 || prefill.reasoning !== undefined || options.messageExtras) return false;
  const last = messages[prefill.index]!;
  if (last.content !== prefill.prefix || last.reasoning_content !== undefined) return false;
  if (options.bodyExtras) for (const key in options.bodyExtras) if ((request as Record<string, unknown>)[key] !== undefined) return false;
  return !hasProxyOnlyFields(request);
}

/** The extras of each provider as the bytes that close a body: `,"k":v,…}`. */
const extrasBytes = new WeakMap<object, Buffer>();

/**
 * The client's JSON object with `extras` added before its closing brace: what re-serializing the
 * parsed request with the extras would send, without the parse-to-string round trip on the hot path.
 * Undefined if the bytes do not end in `}` (they always do: the body parsed as an object).
 */
export function withBodyExtras(raw: Buffer, extras: Readonly<Record<string, unknown>> | undefined): Buffer | undefined {
  let end = raw.length - 1;
  while (end >= 0 && (raw[end] === 0x20 || raw[end] === 0x0a || raw[end] === 0x0d || raw[end] === 0x09)) end--;
  if (raw[end] !== 0x7d) return undefined;
  if (!extras || Object.keys(extras).length === 0) return raw;
  let tail = extrasBytes.get(extras);
  if (!tail) {
    tail = Buffer.from(`,${JSON.stringify(extras).slice(1)}`);
    extrasBytes.set(extras, tail);
  }
  // `{}` has nothing before its brace: no comma then (a chat request never is, but the bytes decide).
  let previous = end - 1;
  while (previous >= 0 && (raw[previous] === 0x20 || raw[previous] === 0x0a || raw[previous] === 0x0d || raw[previous] === 0x09)) previous--;
  if (raw[previous] === 0x7b) return Buffer.concat([raw.subarray(0, end), tail.subarray(1)]);
  return Buffer.concat([raw.subarray(0, end), tail]);
}

/**
 * Several upstreams (llama.cpp among them) refuse two assistant messages at the end of the list.
 * Merging them keeps the conversation's meaning: both are the same turn of the assistant.
 * Returns the merged body and the text the upstream will see as the final assistant message.
 */
export function mergeTrailingAssistantTurns(body: JsonBody): { body: JsonBody; finalText: string | undefined } {
  const messages = body.messages as Array<Record<string, unknown>>;
  const last = messages[messages.length - 1];
  if (!last || last.role !== 'assistant' || typeof last.content !== 'string') return { body, finalText: undefined };
  let first = messages.length - 1;
  while (first > 0) {
    const previous = messages[first - 1]!;
    const hasToolCalls = Array.isArray(previous.tool_calls) && previous.tool_calls.length > 0;
    if (previous.role !== 'assistant' || hasToolCalls) break;
    first--;
  }
  if (first === messages.length - 1) return { body, finalText: last.content };
  const texts: string[] = [];
  for (let i = first; i < messages.length; i++) {
    const text = plainText(messages[i]!.content);
    if (text.length > 0) texts.push(text);
  }
  const finalText = texts.join('\n\n');
  const merged = { ...last, content: finalText };
  return { body: { ...body, messages: [...messages.slice(0, first), merged] }, finalText };
}
