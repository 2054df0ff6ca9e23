import type { AnswerEvent, ToolCallDelta, Usage } from '../../answer/types.js';
import type { ProxyError } from '../../errors.js';
import type { StreamEncoder } from '../../pipeline/types.js';
import { sseEvent } from '../../sse/writer.js';
import { anthropicErrorBody } from './errors.js';
import { anthropicUsage, messageId, messageUsage, stopReason } from './message.js';

/**
 * A streamed answer as Anthropic's named events
 * (https://docs.anthropic.com/en/api/messages-streaming): `message_start` (then a `ping`, as
 * Anthropic sends one), content blocks opened and closed as the kind of text changes — thinking, text,
 * each tool call — with `thinking_delta` / `signature_delta`, `text_delta` and `input_json_delta`,
 * then `message_delta` with the stop reason and usage, and `message_stop`. A failure is an `error`
 * event and no `message_stop`, so the SDK raises it instead of taking a cut answer as complete.
 */

type BlockKind = 'thinking' | 'text' | 'tool';

export class MessagesStreamEncoder implements StreamEncoder {
  private started = false;
  /** The open content block, if any. */
  private open: { index: number; kind: BlockKind } | undefined;
  private blocks = 0;
  /** A tool call (by its index in the answer) and its block. */
  private readonly toolBlocks = new Map<number, number>();
  private reason: string | null = null;
  private usage: Usage | undefined;

  constructor(private readonly model: string | undefined) {}

  event(event: AnswerEvent): string {
    switch (event.type) {
      case 'start':
        return this.start(event.identity.id, event.identity.model);
      case 'delta':
        // A Message has one answer: other choices (never asked for on this door) are not written.
        return event.index === 0 ? this.delta(event) : '';
      case 'finish':
        if (event.index === 0) this.reason = stopReason(event.reason);
        return '';
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'done':
        return '';
      case 'error':
        return sseEvent('error', JSON.stringify(anthropicErrorBody(event.error)));
      default: {
        const unexpected: never = event;
        throw new Error(`unknown answer event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  end(): string {
    let out = this.start('', '');
    // A Message always has content: an empty answer is one empty text block (the SDK's finalText() reads it).
    if (this.blocks === 0) out += this.openBlock('text');
    out += this.closeBlock();
    const usage = anthropicUsage(this.usage);
    const delta = { stop_reason: this.reason ?? 'end_turn', stop_sequence: null, stop_details: null, container: null };
    out += sseEvent('message_delta', JSON.stringify({ type: 'message_delta', delta, usage: { ...usage, server_tool_use: null, output_tokens_details: null } }));
    return out + sseEvent('message_stop', '{"type":"message_stop"}');
  }

  error(error: ProxyError): string {
    return sseEvent('error', JSON.stringify(anthropicErrorBody(error)));
  }

  /** `message_start` and a `ping`, once (input tokens are not known yet: `message_delta` has them). */
  private start(id: string, model: string): string {
    if (this.started) return '';
    this.started = true;
    const message = {
      id: messageId(id),
      type: 'message',
      role: 'assistant',
      model: model || this.model || '',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: messageUsage(undefined),
    };
    return sseEvent('message_start', JSON.stringify({ type: 'message_start', message })) + sseEvent('ping', '{"type":"ping"}');
  }

  private delta(event: Extract<AnswerEvent, { type: 'delta' }>): string {
    let out = this.start('', '');
    if (event.reasoning) out += this.inBlock('thinking') + this.blockDelta({ type: 'thinking_delta', thinking: event.reasoning });
    const given = event.extra?.thinking_blocks;
    if (Array.isArray(given)) for (const block of given as Array<Record<string, unknown>>) out += this.thinkingBlock(block);
    // A refusal (OpenAI's) is text the model wrote, in place of an answer.
    const text = (event.content ?? '') + (event.refusal ?? '');
    if (text) out += this.inBlock('text') + this.blockDelta({ type: 'text_delta', text });
    if (event.toolCalls) for (const call of event.toolCalls) out += this.toolCall(call);
    return out;
  }

  /** A signature for the open thinking block, or a redacted thinking block of its own. */
  private thinkingBlock(block: Record<string, unknown>): string {
    if (block.type === 'redacted_thinking') {
      return this.openBlock('thinking', { type: 'redacted_thinking', data: String(block.data ?? '') }) + this.closeBlock();
    }
    if (typeof block.signature !== 'string' || block.signature.length === 0) return '';
    return this.inBlock('thinking') + this.blockDelta({ type: 'signature_delta', signature: block.signature });
  }

  /** A tool call's first piece opens its block; its arguments go to that block as `input_json_delta`. */
  private toolCall(call: ToolCallDelta): string {
    let out = '';
    let index = this.toolBlocks.get(call.index);
    if (index === undefined) {
      const name = call.function?.name ?? '';
      out += this.openBlock('tool', { type: 'tool_use', id: call.id ?? `toolu_${call.index}`, name, input: {}, caller: { type: 'direct' } });
      index = this.open!.index;
      this.toolBlocks.set(call.index, index);
    }
    const args = call.function?.arguments;
    if (args) out += sseEvent('content_block_delta', JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } }));
    return out;
  }

  /** The open block when it is of this kind, else a new one (the previous closed). */
  private inBlock(kind: 'thinking' | 'text'): string {
    return this.open?.kind === kind ? '' : this.openBlock(kind);
  }

  private openBlock(kind: BlockKind, block?: Record<string, unknown>): string {
    const out = this.closeBlock();
    const index = this.blocks++;
    this.open = { index, kind };
    const contentBlock = block ?? (kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'text', text: '', citations: null });
    return out + sseEvent('content_block_start', JSON.stringify({ type: 'content_block_start', index, content_block: contentBlock }));
  }

  private closeBlock(): string {
    if (!this.open) return '';
    const { index } = this.open;
    this.open = undefined;
    return sseEvent('content_block_stop', `{"type":"content_block_stop","index":${index}}`);
  }

  private blockDelta(delta: Record<string, unknown>): string {
    return sseEvent('content_block_delta', JSON.stringify({ type: 'content_block_delta', index: this.open!.index, delta }));
  }
}
