import type { ChatRequest } from '../chat/schema.js';
import type { Provider, ProviderId } from './types.js';
import { OPENAI_STYLE, trailingAssistantPrefill } from './openai-chat/request.js';

/**
 * Moonshot's Kimi and Alibaba's DashScope (Qwen, compatible mode): "partial mode", `partial: true` on
 * the last assistant message; the answer is the continuation only (Kimi documents this). Partial mode
 * does not combine with JSON mode, so such requests take PREFILL_FALLBACK.
 */
function partialMode(id: ProviderId): Provider {
  return {
    ...OPENAI_STYLE,
    id,
    nativeForm: 'partial=true on the last assistant message (not with JSON mode)',
    supportsPrefill: (request) => !isJsonMode(request),
    prefillRequest(request, prefill, options) {
      return trailingAssistantPrefill(request, prefill, { messageExtras: { partial: true }, reasoning: 'tags', thinkTags: options.thinkTags });
    },
  };
}

function isJsonMode(request: ChatRequest): boolean {
  const format = request.response_format as { type?: unknown } | undefined | null;
  return format?.type === 'json_object' || format?.type === 'json_schema';
}

export const kimi = partialMode('kimi');
export const dashscope = partialMode('dashscope');
