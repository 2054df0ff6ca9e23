import type { AnswerEvent, FinishReason, ToolCallDelta, Usage } from '../../answer/types.js';
import { ProxyError } from '../../errors.js';
import type { StreamEncoder } from '../../pipeline/types.js';
import { sseEvent } from '../../sse/writer.js';
import {
  functionCallItem,
  messageItem,
  newId,
  outcomeOf,
  reasoningItem,
  reasoningTextPart,
  refusalPart,
  responseObject,
  textPart,
  type ItemStatus,
  type ResponseIdentity,
  type ResponseStatus,
} from './response.js';

/**
 * A streamed answer as the Responses API's event sequence: `response.created` and `response.in_progress`;
 * for each output item (reasoning, then the message, then any function calls) `output_item.added`, its
 * content part opened, its deltas, the part and the item done; and `response.completed` (or
 * `response.incomplete` at the output limit) with the whole Response and its usage. Every event has its
 * `sequence_number`, item events their `output_index`, part events their `content_index`. A failure
 * mid-way is an `error` event, then `response.failed`, and nothing after.
 */

type Json = Record<string, unknown>;

interface Part {
  kind: 'text' | 'refusal';
  index: number;
  text: string;
}

type OpenItem =
  | { kind: 'message'; id: string; index: number; parts: Json[]; part: Part | undefined }
  | { kind: 'reasoning'; id: string; index: number; text: string }
  | { kind: 'function_call'; id: string; index: number; call: number; callId: string; name: string; args: string };

export class ResponsesStreamEncoder implements StreamEncoder {
  private sequence = 0;
  private begun = false;
  private readonly output: Json[] = [];
  private open: OpenItem | undefined;
  private finish: FinishReason | undefined;
  private usage: Usage | undefined;
  private readonly identity: ResponseIdentity;

  /**
   * @param echo the request's settings as the Response reports them
   * @param passthrough the upstream's own Responses events go to the client untouched: this encoder only
   *   ever writes the error that cuts them
   */
  constructor(
    private readonly echo: Json,
    model: string,
    private readonly passthrough: boolean,
  ) {
    this.identity = { id: newId('resp'), created_at: Math.floor(Date.now() / 1000), model };
  }

  event(event: AnswerEvent): string {
    switch (event.type) {
      case 'start':
        if (event.identity.model) this.identity.model = event.identity.model;
        if (event.identity.created) this.identity.created_at = event.identity.created;
        return this.begin();
      case 'delta': {
        // The Responses API has one answer: other choices (a request cannot ask for them here) are not sent.
        if (event.index !== 0) return '';
        let out = this.begin();
        if (event.reasoning) out += this.reasoning(event.reasoning);
        if (event.content) out += this.text('text', event.content);
        if (event.refusal) out += this.text('refusal', event.refusal);
        for (const call of event.toolCalls ?? []) out += this.toolCall(call);
        return out;
      }
      case 'finish':
        if (event.index !== 0) return '';
        this.finish = event.reason;
        return this.begin() + this.closeItem();
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'done':
        return '';
      case 'error':
        return this.error(new ProxyError(event.error.status, event.error.message, { type: event.error.type, code: event.error.code, param: event.error.param }));
      default: {
        const unexpected: never = event;
        throw new Error(`unknown answer event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  end(): string {
    let out = this.begin() + this.closeItem();
    // An answer with no text at all is still one (empty) message, as OpenAI gives it.
    if (this.output.length === 0) out += this.openMessage() + this.openPart('text') + this.closeItem();
    const { status, incomplete } = outcomeOf(this.finish);
    out += this.send(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: this.snapshot(status, incomplete) });
    return out;
  }

  error(error: ProxyError): string {
    const told = { code: error.code, message: error.message, param: error.param };
    // Mid-way through the upstream's own events: its sequence is not known here, only the error can be told.
    if (this.passthrough) return this.send('error', told);
    let out = this.begin() + this.send('error', told);
    const cut = this.open ? [...this.output, this.itemSoFar(this.open, 'incomplete')] : this.output;
    out += this.send('response.failed', { response: responseObject(this.identity, this.echo, { status: 'failed', output: cut, usage: this.usage, error }) });
    this.open = undefined;
    return out;
  }

  private send(type: string, fields: Json): string {
    return sseEvent(type, JSON.stringify({ type, sequence_number: this.sequence++, ...fields }));
  }

  private snapshot(status: ResponseStatus, incomplete: Json | null = null): Json {
    return responseObject(this.identity, this.echo, { status, output: [...this.output], usage: status === 'in_progress' ? undefined : this.usage, incomplete });
  }

  private begin(): string {
    if (this.begun) return '';
    this.begun = true;
    const response = this.snapshot('in_progress');
    return this.send('response.created', { response }) + this.send('response.in_progress', { response });
  }

  private itemEvent(type: string, item: OpenItem, fields: Json = {}): string {
    return this.send(type, { item_id: item.id, output_index: item.index, ...fields });
  }

  private reasoning(text: string): string {
    let out = '';
    let item = this.open;
    if (item?.kind !== 'reasoning') {
      out += this.closeItem();
      item = this.open = { kind: 'reasoning', id: newId('rs'), index: this.output.length, text: '' };
      out += this.send('response.output_item.added', { output_index: item.index, item: reasoningItem(item.id, undefined, 'in_progress') });
      out += this.itemEvent('response.content_part.added', item, { content_index: 0, part: reasoningTextPart('') });
    }
    item.text += text;
    return out + this.itemEvent('response.reasoning_text.delta', item, { content_index: 0, delta: text });
  }

  private openMessage(): string {
    const item: OpenItem = { kind: 'message', id: newId('msg'), index: this.output.length, parts: [], part: undefined };
    this.open = item;
    return this.send('response.output_item.added', { output_index: item.index, item: messageItem(item.id, [], 'in_progress') });
  }

  private openPart(kind: Part['kind']): string {
    const item = this.open as Extract<OpenItem, { kind: 'message' }>;
    const part: Part = { kind, index: item.parts.length, text: '' };
    item.part = part;
    return this.itemEvent('response.content_part.added', item, { content_index: part.index, part: kind === 'text' ? textPart('') : refusalPart('') });
  }

  /** Text or refusal for the message item, opening the item and the part as needed. */
  private text(kind: Part['kind'], text: string): string {
    let out = '';
    if (this.open?.kind !== 'message') out += this.closeItem() + this.openMessage();
    const item = this.open as Extract<OpenItem, { kind: 'message' }>;
    if (item.part?.kind !== kind) out += this.closePart(item) + this.openPart(kind);
    const part = item.part!;
    part.text += text;
    const delta = kind === 'text' ? { delta: text, logprobs: [] } : { delta: text };
    return out + this.itemEvent(kind === 'text' ? 'response.output_text.delta' : 'response.refusal.delta', item, { content_index: part.index, ...delta });
  }

  private toolCall(call: ToolCallDelta): string {
    let out = '';
    let item = this.open;
    if (item?.kind !== 'function_call' || item.call !== call.index) {
      out += this.closeItem();
      item = this.open = { kind: 'function_call', id: newId('fc'), index: this.output.length, call: call.index, callId: call.id ?? newId('call'), name: call.function?.name ?? '', args: '' };
      out += this.send('response.output_item.added', { output_index: item.index, item: functionCallItem(item.id, item.callId, item.name, '', 'in_progress') });
    } else if (!item.name && call.function?.name) {
      item.name = call.function.name;
    }
    const args = call.function?.arguments ?? '';
    if (args.length === 0) return out;
    item.args += args;
    return out + this.itemEvent('response.function_call_arguments.delta', item, { delta: args });
  }

  private closePart(item: Extract<OpenItem, { kind: 'message' }>): string {
    const part = item.part;
    if (!part) return '';
    item.part = undefined;
    const done = part.kind === 'text' ? textPart(part.text) : refusalPart(part.text);
    item.parts.push(done);
    const text = part.kind === 'text' ? this.itemEvent('response.output_text.done', item, { content_index: part.index, text: part.text, logprobs: [] }) : this.itemEvent('response.refusal.done', item, { content_index: part.index, refusal: part.text });
    return text + this.itemEvent('response.content_part.done', item, { content_index: part.index, part: done });
  }

  /** Ends the open item: its part and text done, then the item, as it stands in the final output. */
  private closeItem(): string {
    const item = this.open;
    if (!item) return '';
    let out = '';
    if (item.kind === 'message') out += this.closePart(item);
    else if (item.kind === 'reasoning') {
      out += this.itemEvent('response.reasoning_text.done', item, { content_index: 0, text: item.text });
      out += this.itemEvent('response.content_part.done', item, { content_index: 0, part: reasoningTextPart(item.text) });
    } else out += this.itemEvent('response.function_call_arguments.done', item, { name: item.name, arguments: item.args });
    const status: ItemStatus = item.kind === 'message' && outcomeOf(this.finish).status === 'incomplete' ? 'incomplete' : 'completed';
    const done = this.itemSoFar(item, status);
    this.output.push(done);
    this.open = undefined;
    return out + this.send('response.output_item.done', { output_index: item.index, item: done });
  }

  private itemSoFar(item: OpenItem, status: ItemStatus): Json {
    if (item.kind === 'reasoning') return reasoningItem(item.id, item.text, status);
    if (item.kind === 'function_call') return functionCallItem(item.id, item.callId, item.name, item.args, status);
    const parts = item.part ? [...item.parts, item.part.kind === 'text' ? textPart(item.part.text) : refusalPart(item.part.text)] : item.parts;
    return messageItem(item.id, parts, status);
  }
}
