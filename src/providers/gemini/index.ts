import type { ChatRequest } from '../../chat/schema.js';
import { renderPartialTurn } from '../../prefill/render.js';
import type { Provider } from '../types.js';
import { geminiAnswers } from './answers.js';
import { geminiModelsAsOpenAI, refusesPrefill } from './models.js';
import { geminiPath, toGeminiRequest } from './request.js';

/**
 * Google's Gemini API, native (`generativelanguage.googleapis.com/v1beta`), translated both ways. Each
 * request goes to its model's path: `models/{model}:generateContent`, or
 * `:streamGenerateContent?alt=sse` for a stream; the key goes in `x-goog-api-key`.
 *
 * Prefill is a trailing `model` turn, which the model continues (only the continuation comes back). The
 * models released from Gemini 3.6 Flash and 3.5 Flash-Lite on refuse it (400 "Requests ending with a
 * model turn are not supported."): those known by name take PREFILL_FALLBACK at once; any other model
 * that answers with that refusal takes it after the 400 (and the pipeline remembers the model). A
 * reasoning prefix has no native form (thoughts replayed without Google's signature are ignored), so it
 * takes the fallback too.
 *
 * Plain HTTP and SSE: no SDK, nothing to load for users of other upstreams.
 */
export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

/** The start of the refusal, as every model that refuses words it (some add "… unless the last part is a function response."). */
const PREFILL_REFUSAL = /Requests ending with a model turn are not supported/i;

function hasReasoningPrefix(request: ChatRequest): boolean {
  const last = request.messages[request.messages.length - 1];
  return typeof last?.reasoning_content === 'string' && last.reasoning_content.length > 0;
}

export const gemini: Provider = {
  id: 'gemini',
  noNewTurnAfterAssistant: true,
  nativeForm: 'trailing model turn (generateContent; not Gemini 3.5 Flash-Lite, 3.6 and later)',
  // Every call sets its own path (the model is part of it); this is its shape.
  chatPath: '/v1beta/models/{model}:generateContent',
  modelsPath: '/v1beta/models',
  // One page of up to 1,000 (Gemini's largest; it lists a few dozen models).
  modelList: { path: '/v1beta/models?pageSize=1000', toOpenAI: geminiModelsAsOpenAI },
  defaultBaseUrl: GEMINI_BASE_URL,
  authHeaders: (apiKey): Record<string, string> => (apiKey ? { 'x-goog-api-key': apiKey } : {}),
  supportsPrefill: (request) => !refusesPrefill(request.model) && !hasReasoningPrefix(request),
  forwardRequest: (request) => ({ body: toGeminiRequest(request), path: geminiPath(request.model, request.stream === true) }),
  prefillRequest(request, prefill, options) {
    const text = renderPartialTurn(prefill, { reasoning: 'native', thinkTags: options.thinkTags }).content;
    return { body: toGeminiRequest(request, { text }), path: geminiPath(request.model, request.stream === true) };
  },
  recoverFromError(status, errorText) {
    return status === 400 && PREFILL_REFUSAL.test(errorText) ? { fallback: true } : undefined;
  },
  answers: geminiAnswers,
  // reasoning_budget_tokens becomes generationConfig.thinkingConfig (request.ts): thinkingBudget on the
  // models that take a budget, thinkingLevel on those that take levels.
  nativeThinkingBudget: true,
  // `https://generativelanguage.googleapis.com/v1beta` works as well as the bare host.
  normalizeBasePath: (basePath) => basePath.replace(/\/v1beta(?:\/openai)?$/, ''),
};
