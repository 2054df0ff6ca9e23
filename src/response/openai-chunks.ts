import type { SseEvent } from '../sse/parser.js';
import type { StreamTranslator, TranslatedEvent } from '../providers/types.js';

/**
 * The "translation" for upstreams that already speak OpenAI: chunks with choices are handed on for
 * rewriting, `[DONE]` ends the stream, other JSON (error events, events the proxy does not know)
 * passes as it came, and data that is not JSON is an error.
 */
export const openAIChunks: StreamTranslator = {
  translate({ event, data }: SseEvent): TranslatedEvent[] {
    if (data === '[DONE]') return [{ kind: 'done' }];
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      // A stream the proxy has to read is a stream it can tell is broken: say so, never pass garbage on.
      return [
        {
          kind: 'error',
          error: { message: 'The upstream sent a stream event that is not valid JSON.', type: 'upstream_error', param: null, code: 'upstream_invalid_response' },
        },
      ];
    }
    const choices = (chunk as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return [{ kind: 'raw', event, data }];
    return [{ kind: 'chunk', chunk: chunk as Record<string, unknown> }];
  },
};
