import type { ChatMessage, ChatRequest } from '../chat/schema.js';
import type { Prefill } from '../prefill/detect.js';
import { DEFAULT_THINK_TAGS, renderThinking, type ThinkTags } from '../prefill/reasoning.js';
import type { JsonBody, NativePrefillRequest, Provider, UpstreamBody } from './types.js';

/** Request fields that only mean something to this proxy and must not reach an upstream. */
const PROXY_ONLY_FIELDS = ['echo', 'continue_final_message', 'reasoning_budget_tokens'] as const;
const PROXY_ONLY_MESSAGE_FIELDS = ['prefix', 'partial'] as const;

export function bearerAuth(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/**
 * What OpenAI-style servers share: their paths, bearer keys, prefill for every request, and tolerance
 * of unknown fields (an ordinary request goes as the client's own bytes).
 */
export const OPENAI_STYLE = {
  chatPath: '/v1/chat/completions',
  modelsPath: '/v1/models',
  authHeaders: bearerAuth,
  supportsPrefill: () => true,
  forwardRequest: (request: ChatRequest, rewritten: boolean) => (rewritten ? { body: request as JsonBody } : undefined),
} as const satisfies Partial<Provider>;

/** For servers that reject fields they do not know (OpenAI): the proxy's own fields never go. */
export function forwardWithoutProxyFields(request: ChatRequest, rewritten: boolean): UpstreamBody | undefined {
  if (hasProxyOnlyFields(request)) return { body: withoutProxyOnlyFields(request) };
  return rewritten ? { body: request as JsonBody } : undefined;
}

export interface TrailingAssistantOptions {
  messageExtras?: Record<string, unknown>;
  bodyExtras?: Record<string, unknown>;
  /**
   * How a reasoning prefix travels: `native` as the message's `reasoning_content`, `tags` rendered in
   * the model's thinking tags in front of the content (the default, for upstreams without the field).
   */
  reasoning?: 'native' | 'tags';
  thinkTags?: ThinkTags;
}

/**
 * The request with its last message rewritten as a plain assistant message whose content is the
 * joined prefix text (upstreams join text parts differently: llama.cpp puts a blank line between
 * them), without the proxy's own flags. `messageExtras` and `bodyExtras` add the native markers.
 */
export function withTrailingAssistant(request: ChatRequest, prefill: Prefill, options: TrailingAssistantOptions = {}): JsonBody {
  const body: JsonBody = { ...request };
  for (const field of PROXY_ONLY_FIELDS) delete body[field];
  const last = { ...request.messages[prefill.index] } as ChatMessage & Record<string, unknown>;
  for (const field of PROXY_ONLY_MESSAGE_FIELDS) delete last[field];
  delete last.reasoning_content;
  last.content = prefill.prefix;
  if (prefill.reasoning !== undefined) {
    if (options.reasoning === 'native') last.reasoning_content = prefill.reasoning;
    else last.content = renderThinking(prefill.reasoning, prefill.continues === 'reasoning', options.thinkTags ?? DEFAULT_THINK_TAGS) + prefill.prefix;
  }
  Object.assign(last, options.messageExtras);
  const messages = request.messages.slice(0, prefill.index);
  messages.push(last);
  body.messages = messages;
  Object.assign(body, options.bodyExtras);
  return body;
}

/** True when the request carries a field only this proxy understands. */
export function hasProxyOnlyFields(request: ChatRequest): boolean {
  for (const field of PROXY_ONLY_FIELDS) if (request[field] !== undefined) return true;
  for (const message of request.messages) {
    for (const field of PROXY_ONLY_MESSAGE_FIELDS) if (message[field] !== undefined) return true;
  }
  return false;
}

/** The request without the proxy's own fields, for upstreams that reject unknown ones. */
export function withoutProxyOnlyFields(request: ChatRequest): JsonBody {
  const body: JsonBody = { ...request };
  for (const field of PROXY_ONLY_FIELDS) delete body[field];
  body.messages = request.messages.map((message) => {
    if (message.prefix === undefined && message.partial === undefined) return message;
    const copy: Record<string, unknown> = { ...message };
    for (const field of PROXY_ONLY_MESSAGE_FIELDS) delete copy[field];
    return copy;
  });
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
  options: TrailingAssistantOptions & { mayRepeat?: boolean },
): NativePrefillRequest {
  const body = withTrailingAssistant(request, prefill, options);
  const messages = body.messages as Array<{ content?: unknown }>;
  const sent = messages[messages.length - 1]!.content as string;
  const tagged = prefill.reasoning !== undefined && options.reasoning !== 'native';
  return {
    body,
    repeated: options.mayRepeat && sent.length > 0 ? sent : undefined,
    thinkingInContent: tagged ? { startsInside: prefill.continues === 'reasoning' } : undefined,
  };
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

function plainText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}
