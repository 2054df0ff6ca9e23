import type { ChatRequest } from './schema.js';

/**
 * Request fields that only mean something to this proxy. They never reach an upstream in a body the
 * proxy builds, and requests carrying them are never forwarded as the client's bytes to upstreams
 * that reject unknown fields.
 */
export const PROXY_ONLY_FIELDS = ['echo', 'continue_final_message', 'reasoning_budget_tokens', 'max_continuations'] as const;
export const PROXY_ONLY_MESSAGE_FIELDS = ['prefix', 'partial'] as const;

/** True when the request carries a field only this proxy understands. */
export function hasProxyOnlyFields(request: ChatRequest): boolean {
  for (const field of PROXY_ONLY_FIELDS) if (request[field] !== undefined) return true;
  for (const message of request.messages) {
    for (const field of PROXY_ONLY_MESSAGE_FIELDS) if (message[field] !== undefined) return true;
  }
  return false;
}

/** The request without the proxy's own top-level fields (messages untouched). */
export function withoutProxyRequestFields(request: ChatRequest): ChatRequest {
  const body: ChatRequest = { ...request };
  for (const field of PROXY_ONLY_FIELDS) delete body[field];
  return body;
}

/** The request without any of the proxy's own fields, for upstreams that reject unknown ones. */
export function withoutProxyFields(request: ChatRequest): ChatRequest {
  const body = withoutProxyRequestFields(request);
  body.messages = request.messages.map((message) => {
    if (message.prefix === undefined && message.partial === undefined) return message;
    const copy = { ...message };
    for (const field of PROXY_ONLY_MESSAGE_FIELDS) delete copy[field];
    return copy;
  });
  return body;
}
