import type { SseEvent } from '../sse/parser.js';
import type { StreamTranslator, TranslatedEvent } from '../providers/types.js';

/**
 * The "translation" for upstreams that already speak OpenAI: chunks with choices are handed on for
 * rewriting, `[DONE]` ends the stream, anything else (usage-only chunks, error events, events the
 * proxy does not know) passes as it came.
 */
export const openAIChunks: StreamTranslator = {
  translate({ event, data }: SseEvent): TranslatedEvent[] {
    if (data === '[DONE]') return [{ kind: 'done' }];
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return [{ kind: 'raw', event, data }];
    }
    const choices = (chunk as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return [{ kind: 'raw', event, data }];
    return [{ kind: 'chunk', chunk: chunk as Record<string, unknown> }];
  },
};
