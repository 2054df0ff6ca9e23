import type { ChatRequest } from '../../chat/schema.js';
import { thinkingOf } from '../anthropic/request.js';
import type { Provider } from '../types.js';
import { bedrockAnswers } from './answers.js';
import { preloadEventStreamCodec } from './event-stream.js';
import { isClaude, mayBeClaude, modelSupportsPrefill } from './models.js';
import { conversePath, toConverseRequest } from './request.js';

/**
 * Amazon Bedrock's Converse API (`POST /model/{modelId}/converse`, `/converse-stream`), translated both
 * ways. Prefill is a trailing assistant message; Claude 4.6 and later refuse it (400
 * ValidationException "…This model does not support assistant message prefill…"), decided from the model
 * ID and, for IDs the proxy cannot read (application inference profiles), from that 400. Claude refuses a
 * final assistant text that ends in whitespace: it is trimmed and not doubled in the answer, as on
 * Anthropic's own API. Requests are signed with SigV4 by the upstream client (upstream/signed-upstream.ts),
 * or carry a Bedrock API key as a bearer token. Streams are AWS event-stream frames (answers.ts).
 */

/** The Bedrock refusal of a prefill (also with extended thinking on, where a prefill must start with a thinking block). */
const PREFILL_REFUSED = /does not support assistant message prefill|must start with a thinking block|prefill.*thinking|thinking.*prefill/i;

function hasReasoningPrefix(request: ChatRequest): boolean {
  const last = request.messages[request.messages.length - 1];
  return typeof last?.reasoning_content === 'string' && last.reasoning_content.length > 0;
}

/** Starts loading the event-stream codec while the call goes out, so the answer finds it ready. */
function warmStream(request: ChatRequest): void {
  if (request.stream === true) preloadEventStreamCodec().catch(() => undefined);
}

export const bedrock: Provider = {
  id: 'bedrock',
  noNewTurnAfterAssistant: true,
  nativeForm: 'trailing assistant message (Converse; Claude: without trailing whitespace, not Claude 4.6+, not with thinking)',
  // The path depends on the model and on streaming: every request gives its own (conversePath).
  chatPath: '/model/{modelId}/converse',
  // Bedrock Runtime has no model list (that is the control plane's ListFoundationModels): list models in a config file.
  modelsPath: '/foundation-models',
  // A Bedrock API key goes as a bearer token; without one, the upstream client signs each request (SigV4).
  // `accept` as any HTTP client sends it: Bedrock's answers are JSON or its binary event stream, never SSE.
  authHeaders: (apiKey): Record<string, string> => ({ accept: '*/*', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) }),
  // Claude's thinking blocks need Anthropic's signature, so a reasoning prefix cannot be sent, nor a prefill with thinking on.
  supportsPrefill: (request) => modelSupportsPrefill(request.model) && !hasReasoningPrefix(request) && !(isClaude(request.model) && thinkingOf(request) !== undefined),
  forwardRequest(request) {
    warmStream(request);
    return { body: toConverseRequest(request), path: conversePath(request) };
  },
  prefillRequest(request, prefill) {
    warmStream(request);
    // Claude (and IDs that may name it) refuses a final assistant text ending in whitespace; no model takes a blank one.
    const trim = mayBeClaude(request.model) || prefill.prefix.trim().length === 0;
    const text = trim ? prefill.prefix.trimEnd() : prefill.prefix;
    const removed = prefill.prefix.slice(text.length);
    return { body: toConverseRequest(request, { text }), path: conversePath(request), repeated: removed.length > 0 ? removed : undefined };
  },
  recoverFromError(status, errorText) {
    if (status === 400 && PREFILL_REFUSED.test(errorText)) return { fallback: true };
    return undefined;
  },
  answers: bedrockAnswers,
  // Claude's reasoning_budget_tokens becomes additionalModelRequestFields.thinking.budget_tokens (request.ts).
  nativeThinkingBudget: true,
};
