import type { Answer, AnswerChoice, AnswerEvent, FinishReason, ToolCall, Usage } from '../../answer/types.js';
import type { SseEvent } from '../../sse/parser.js';
import { SseStreamDecoder } from '../sse-decoder.js';
import type { AnswerDecoder } from '../types.js';

/**
 * Anthropic Messages answers read into the pipeline's answer, whole and streamed.
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
  signature?: string;
  data?: string;
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

export function finishReason(stopReason: string | null | undefined): FinishReason | null {
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

export function toUsage(usage: AnthropicUsage): Usage {
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

function wholeAnswer(body: unknown): Answer {
  if (!body || typeof body !== 'object' || !Array.isArray((body as AnthropicMessage).content)) throw new Error('not an Anthropic message: no content');
  const message = body as AnthropicMessage;
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  const thinkingBlocks: ThinkingBlock[] = [];
  for (const block of message.content ?? []) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'thinking') {
      reasoning += block.thinking ?? '';
      thinkingBlocks.push({ type: 'thinking', thinking: block.thinking ?? '', signature: block.signature ?? '' });
    } else if (block.type === 'redacted_thinking') thinkingBlocks.push({ type: 'redacted_thinking', data: block.data ?? '' });
    else if (block.type === 'tool_use') {
      toolCalls.push({ id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  const choice: AnswerChoice = { index: 0, content: text.length > 0 || toolCalls.length === 0 ? text : null, finishReason: finishReason(message.stop_reason) };
  if (reasoning.length > 0) choice.reasoning = reasoning;
  if (toolCalls.length > 0) choice.toolCalls = toolCalls;
  if (thinkingBlocks.length > 0) choice.messageExtra = { thinking_blocks: thinkingBlocks };
  return { id: message.id ?? '', model: message.model ?? '', created: now(), choices: [choice], usage: toUsage(message.usage ?? {}) };
}

class AnthropicStreamDecoder extends SseStreamDecoder {
  private usage: AnthropicUsage = {};
  private readonly toolIndexOfBlock = new Map<number, number>();
  private stopped = false;

  /**
   * Never: Anthropic's stream is stateful (content blocks are opened, indexed and closed), so a
   * stream the proxy has begun to rewrite cannot go on with the upstream's own bytes mid-way (the
   * block indices and closings would disagree). Rewritten streams are decoded to their end.
   */
  override get atEventBoundary(): boolean {
    return false;
  }

  protected override onEnd(): void {
    if (this.stopped) return;
    this.failed = true;
    this.emit(upstreamError('The upstream stream ended before message_stop.', 'upstream_stream_truncated'));
  }

  protected onEvent({ event, data }: SseEvent): void {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(data) as Record<string, unknown>;
    } catch {
      this.failed = true;
      return this.emit(upstreamError(`The upstream sent an event that is not JSON: ${data.slice(0, 100)}`, 'upstream_invalid_response'));
    }
    const type = typeof payload.type === 'string' ? payload.type : event;
    switch (type) {
      case 'message_start': {
        const message = (payload.message ?? {}) as AnthropicMessage;
        this.usage = { ...message.usage };
        this.emit({ type: 'start', identity: { id: message.id ?? '', model: message.model ?? '', created: now() } });
        this.emit({ type: 'delta', index: 0, role: true, content: '' });
        return;
      }
      case 'content_block_start': {
        const block = (payload.content_block ?? {}) as AnthropicBlock;
        if (block.type === 'tool_use') {
          const index = this.toolIndexOfBlock.size;
          this.toolIndexOfBlock.set(Number(payload.index), index);
          this.emit({ type: 'delta', index: 0, toolCalls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] });
        } else if (block.type === 'text' && block.text) {
          this.emit({ type: 'delta', index: 0, content: block.text });
        } else if (block.type === 'redacted_thinking') {
          this.emit({ type: 'delta', index: 0, extra: { thinking_blocks: [{ type: 'redacted_thinking', data: block.data ?? '' }] } });
        }
        return;
      }
      case 'content_block_delta': {
        const delta = (payload.delta ?? {}) as { type?: string; text?: string; thinking?: string; signature?: string; partial_json?: string };
        if (delta.type === 'text_delta') this.emit({ type: 'delta', index: 0, content: delta.text ?? '' });
        else if (delta.type === 'thinking_delta') this.emit({ type: 'delta', index: 0, reasoning: delta.thinking ?? '' });
        else if (delta.type === 'signature_delta') {
          this.emit({ type: 'delta', index: 0, extra: { thinking_blocks: [{ type: 'thinking', thinking: '', signature: delta.signature ?? '' }] } });
        }
        else if (delta.type === 'input_json_delta') {
          const index = this.toolIndexOfBlock.get(Number(payload.index)) ?? 0;
          this.emit({ type: 'delta', index: 0, toolCalls: [{ index, function: { arguments: delta.partial_json ?? '' } }] });
        }
        return;
      }
      case 'message_delta': {
        const delta = (payload.delta ?? {}) as { stop_reason?: string | null };
        // message_delta carries cumulative counts: take them as they are.
        this.usage = { ...this.usage, ...(payload.usage as AnthropicUsage | undefined) };
        this.emit({ type: 'finish', index: 0, reason: finishReason(delta.stop_reason) ?? 'stop' });
        return;
      }
      case 'message_stop':
        this.stopped = true;
        this.emit({ type: 'usage', usage: toUsage(this.usage) });
        this.emit({ type: 'done' });
        return;
      case 'error': {
        this.failed = true;
        const error = (payload.error ?? {}) as { type?: string; message?: string };
        this.emit({
          type: 'error',
          error: { status: 502, message: error.message ?? 'The upstream reported an error mid-stream.', type: error.type ?? 'api_error', param: null, code: error.type ?? null },
        });
        return;
      }
      default:
        // ping, content_block_stop and event types added later carry nothing for the client.
        return;
    }
  }
}

/**
 * Thinking blocks as they came, signatures included (LiteLLM's `thinking_blocks`): on a whole answer's
 * message, and on the stream's deltas (a signature, a redacted block). Chat Completions clients see
 * them beside `reasoning_content`; the Messages door gives them back as Anthropic's own blocks, so a
 * conversation can go on with them.
 */
export type ThinkingBlock = { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

function upstreamError(message: string, code: string): AnswerEvent {
  return { type: 'error', error: { status: 502, message, type: 'upstream_error', param: null, code } };
}

const MESSAGE_STOP = Buffer.from('"type":"message_stop"');

export const anthropicAnswers: AnswerDecoder = {
  wire: 'anthropic-messages',
  // The last event of a complete stream is message_stop (its data is small: look at the last bytes).
  endsWithTerminator: (bytes) => bytes.includes(MESSAGE_STOP, Math.max(0, bytes.length - 64)),
  whole: (body) => wholeAnswer(body),
  stream: (_request, emit, options) => new AnthropicStreamDecoder(emit, options),
};
