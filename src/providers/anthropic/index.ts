import type { ChatRequest } from '../../chat/schema.js';
import type { Provider } from '../types.js';
import { thinkingOf, toAnthropicRequest } from './request.js';
import { anthropicAnswers } from './answers.js';
import { messagesNativeCall } from './native.js';

/**
 * Anthropic's Messages API, translated both ways. Prefill is a trailing assistant turn, whose text must
 * not end in whitespace (a 400 otherwise): the proxy trims it and, when the continuation starts with
 * that same whitespace, removes it so it is not doubled. Prefill does not combine with extended
 * thinking, and Claude 4.6 and later reject it outright ("This model does not support assistant message
 * prefill"): those requests take PREFILL_FALLBACK, decided from the model name and, for names the
 * proxy does not know, from that 400.
 */
export const ANTHROPIC_VERSION = '2023-06-01';

export function modelSupportsPrefill(model: string | undefined): boolean {
  if (!model) return true;
  const match = /^claude-(?:(?:opus|sonnet|haiku)-)?(\d+)(?:-(\d{1,2}))?(?:-|$)/.exec(model);
  if (!match) return true;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? 0 : Number(match[2]);
  return major < 4 || (major === 4 && minor < 6);
}

function hasReasoningPrefix(request: ChatRequest): boolean {
  const last = request.messages[request.messages.length - 1];
  return typeof last?.reasoning_content === 'string' && last.reasoning_content.length > 0;
}

export const anthropic: Provider = {
  id: 'anthropic',
  noNewTurnAfterAssistant: true,
  nativeForm: 'trailing assistant turn without trailing whitespace (Messages API; not Claude 4.6+, not with thinking)',
  chatPath: '/v1/messages',
  modelsPath: '/v1/models',
  authHeaders: (apiKey) => ({ 'anthropic-version': ANTHROPIC_VERSION, ...(apiKey ? { 'x-api-key': apiKey } : {}) }),
  // Thinking blocks in a request need Anthropic's signature, so a reasoning prefix cannot be sent either.
  supportsPrefill: (request: ChatRequest) =>
    modelSupportsPrefill(request.model) && thinkingOf(request) === undefined && !hasReasoningPrefix(request),
  forwardRequest: (request) => ({ body: toAnthropicRequest(request) }),
  prefillRequest(request, prefill) {
    const text = prefill.prefix.trimEnd();
    const removed = prefill.prefix.slice(text.length);
    return { body: toAnthropicRequest(request, { text }), repeated: removed.length > 0 ? removed : undefined };
  },
  recoverFromError(status, errorText) {
    if (status === 400 && /does not support assistant message prefill|must start with a thinking block|prefill.*thinking|thinking.*prefill/i.test(errorText)) {
      return { fallback: true };
    }
    return undefined;
  },
  answers: anthropicAnswers,
  // reasoning_budget_tokens becomes thinking.budget_tokens (request.ts).
  nativeThinkingBudget: true,
  // A Messages request (the Messages door) goes as it came, its prefill handled in place (native.ts).
  nativeCall: messagesNativeCall,
  nativeWires: ['anthropic-messages'],
};
