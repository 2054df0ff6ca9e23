import type { ChatRequest } from '../../chat/schema.js';
import type { SseEvent } from '../../sse/parser.js';
import type { ResponseDialect, StreamTranslator, TranslatedEvent } from '../types.js';

/**
 * Anthropic Messages answers → OpenAI Chat Completions answers, whole and streamed.
 * https://docs.anthropic.com/en/api/messages-streaming
 */

interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

interface AnthropicBlock {
  type: string;
  text?: string;
  thinking?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

interface AnthropicMessage {
  id?: string;
  model?: string;
  content?: AnthropicBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

export function finishReason(stopReason: string | null | undefined): string | null {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      return 'stop';
  }
}

export function openAIUsage(usage: AnthropicUsage) {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  const prompt = (usage.input_tokens ?? 0) + cacheRead + cacheCreation;
  const completion = usage.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: cacheRead,
  };
}

const now = () => Math.floor(Date.now() / 1000);

function completion(body: unknown): Record<string, unknown> {
  const message = body as AnthropicMessage;
  let text = '';
  let reasoning = '';
  const toolCalls: Array<Record<string, unknown>> = [];
  for (const block of message.content ?? []) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'thinking') reasoning += block.thinking ?? '';
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const out: Record<string, unknown> = { role: 'assistant', content: text.length > 0 || toolCalls.length === 0 ? text : null };
  if (reasoning.length > 0) out.reasoning_content = reasoning;
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  return {
    id: message.id,
    object: 'chat.completion',
    created: now(),
    model: message.model,
    choices: [{ index: 0, message: out, logprobs: null, finish_reason: finishReason(message.stop_reason) }],
    usage: openAIUsage(message.usage ?? {}),
  };
}

class AnthropicStreamTranslator implements StreamTranslator {
  private id = '';
  private model = '';
  private readonly created = now();
  private usage: AnthropicUsage = {};
  private readonly toolIndexOfBlock = new Map<number, number>();
  private stopped = false;
  private failed = false;

  constructor(private readonly includeUsage: boolean) {}

  translate({ event, data }: SseEvent): TranslatedEvent[] {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(data) as Record<string, unknown>;
    } catch {
      this.failed = true;
      return [upstreamError(`The upstream sent an event that is not JSON: ${data.slice(0, 100)}`, 'upstream_invalid_response')];
    }
    const type = typeof payload.type === 'string' ? payload.type : event;
    switch (type) {
      case 'message_start': {
        const message = (payload.message ?? {}) as AnthropicMessage;
        this.id = message.id ?? '';
        this.model = message.model ?? '';
        this.usage = { ...message.usage };
        return [this.chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const block = (payload.content_block ?? {}) as AnthropicBlock;
        if (block.type === 'tool_use') {
          const index = this.toolIndexOfBlock.size;
          this.toolIndexOfBlock.set(Number(payload.index), index);
          return [this.chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })];
        }
        if (block.type === 'text' && block.text) return [this.chunk({ content: block.text })];
        return [];
      }
      case 'content_block_delta': {
        const delta = (payload.delta ?? {}) as { type?: string; text?: string; thinking?: string; partial_json?: string };
        if (delta.type === 'text_delta') return [this.chunk({ content: delta.text ?? '' })];
        if (delta.type === 'thinking_delta') return [this.chunk({ reasoning_content: delta.thinking ?? '' })];
        if (delta.type === 'input_json_delta') {
          const index = this.toolIndexOfBlock.get(Number(payload.index)) ?? 0;
          return [this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json ?? '' } }] })];
        }
        return [];
      }
      case 'message_delta': {
        const delta = (payload.delta ?? {}) as { stop_reason?: string | null };
        // message_delta carries cumulative counts: take them as they are.
        this.usage = { ...this.usage, ...(payload.usage as AnthropicUsage | undefined) };
        return [this.chunk({}, finishReason(delta.stop_reason) ?? 'stop')];
      }
      case 'message_stop': {
        this.stopped = true;
        const out: TranslatedEvent[] = [];
        if (this.includeUsage) {
          out.push({
            kind: 'chunk',
            chunk: { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: openAIUsage(this.usage) },
          });
        }
        out.push({ kind: 'done' });
        return out;
      }
      case 'error': {
        this.failed = true;
        const error = (payload.error ?? {}) as { type?: string; message?: string };
        return [
          {
            kind: 'error',
            error: { message: error.message ?? 'The upstream reported an error mid-stream.', type: error.type ?? 'api_error', param: null, code: error.type ?? null },
          },
        ];
      }
      default:
        // ping, content_block_stop and event types added later carry nothing for the client.
        return [];
    }
  }

  end(): TranslatedEvent[] {
    if (this.stopped || this.failed) return [];
    this.failed = true;
    return [upstreamError('The upstream stream ended before message_stop.', 'upstream_stream_truncated')];
  }

  private chunk(delta: Record<string, unknown>, finish: string | null = null): TranslatedEvent {
    return {
      kind: 'chunk',
      chunk: {
        id: this.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      },
    };
  }
}

function upstreamError(message: string, code: string): TranslatedEvent {
  return { kind: 'error', error: { message, type: 'upstream_error', param: null, code } };
}

export const anthropicDialect: ResponseDialect = {
  completion,
  streamTranslator(request: ChatRequest) {
    const options = request.stream_options as { include_usage?: unknown } | null | undefined;
    return new AnthropicStreamTranslator(options?.include_usage === true);
  },
};
