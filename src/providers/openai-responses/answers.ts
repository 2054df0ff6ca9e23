import type { Answer, AnswerChoice, AnswerEvent, FinishReason, ToolCall, Usage } from '../../answer/types.js';
import type { SseEvent } from '../../sse/parser.js';
import { SseStreamDecoder } from '../sse-decoder.js';
import type { AnswerDecoder } from '../types.js';

/**
 * OpenAI Responses answers (a whole `response` object, or its named event stream) read into the
 * pipeline's answer. A Responses request that goes to OpenAI as it came is answered in the Responses
 * door's own format, so these bytes usually pass untouched; the decoder is what reads them when they
 * cannot (and what tells a stream that ended from one that was cut).
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** The texts of parts of one type (`output_text`, `reasoning_text`, `summary_text`), joined. */
function partsText(parts: unknown, type: string, field = 'text'): string {
  if (!Array.isArray(parts)) return '';
  let out = '';
  for (const part of parts) if (isObject(part) && part.type === type) out += text(part[field]);
  return out;
}

/** A Response's usage in the pipeline's (OpenAI Chat) terms. */
export function usageOf(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const prompt = Number(value.input_tokens) || 0;
  const completion = Number(value.output_tokens) || 0;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: Number(value.total_tokens) || prompt + completion };
  const input = value.input_tokens_details;
  if (isObject(input) && typeof input.cached_tokens === 'number') usage.prompt_tokens_details = { cached_tokens: input.cached_tokens };
  const output = value.output_tokens_details;
  if (isObject(output) && typeof output.reasoning_tokens === 'number') usage.completion_tokens_details = { reasoning_tokens: output.reasoning_tokens };
  return usage;
}

function finishOf(response: Json, toolCalls: boolean): FinishReason {
  if (response.status === 'incomplete') {
    const details = response.incomplete_details;
    return isObject(details) && details.reason === 'content_filter' ? 'content_filter' : 'length';
  }
  return toolCalls ? 'tool_calls' : 'stop';
}

export function decodeWholeResponse(body: unknown): Answer {
  if (!isObject(body) || body.object !== 'response' || !Array.isArray(body.output)) throw new Error('not a Response: no output');
  let content = '';
  let reasoning: string | undefined;
  let refusal: string | undefined;
  const toolCalls: ToolCall[] = [];
  for (const item of body.output) {
    if (!isObject(item)) continue;
    if (item.type === 'message') {
      content += partsText(item.content, 'output_text');
      const refused = partsText(item.content, 'refusal', 'refusal');
      if (refused) refusal = (refusal ?? '') + refused;
    } else if (item.type === 'reasoning') {
      reasoning = (reasoning ?? '') + (partsText(item.content, 'reasoning_text') || partsText(item.summary, 'summary_text'));
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: text(item.call_id), type: 'function', function: { name: text(item.name), arguments: text(item.arguments) } });
    }
  }
  const choice: AnswerChoice = { index: 0, content: content.length === 0 && toolCalls.length > 0 ? null : content, finishReason: finishOf(body, toolCalls.length > 0) };
  if (reasoning !== undefined) choice.reasoning = reasoning;
  if (refusal !== undefined) choice.refusal = refusal;
  if (toolCalls.length > 0) choice.toolCalls = toolCalls;
  const answer: Answer = { id: text(body.id), model: text(body.model), created: Number(body.created_at) || Math.floor(Date.now() / 1000), choices: [choice] };
  const usage = usageOf(body.usage);
  if (usage) answer.usage = usage;
  return answer;
}

/** Decodes a Responses event stream: deltas become events, the terminal lifecycle event ends it. */
export class ResponsesStreamDecoder extends SseStreamDecoder {
  private started = false;
  private announced = false;
  /** output_index of each function call → its tool-call index in the answer. */
  private readonly tools = new Map<number, number>();

  /**
   * Never: once the proxy has written its own Responses events (its sequence numbers, its item ids), the
   * upstream's cannot follow them, so a stream that was rewritten is decoded to its end.
   */
  override get atEventBoundary(): boolean {
    return false;
  }

  protected onEvent({ event: name, data }: SseEvent): void {
    let event: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      if (!isObject(parsed)) throw new Error('not an object');
      event = parsed;
    } catch {
      return this.emit(invalid('The upstream sent a stream event that is not a JSON object.'));
    }
    const type = typeof event.type === 'string' ? event.type : name;
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
        return this.start(event.response);
      case 'response.output_text.delta':
        return this.delta({ content: text(event.delta) });
      case 'response.refusal.delta':
        return this.delta({ refusal: text(event.delta) });
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
        return this.delta({ reasoning: text(event.delta) });
      case 'response.output_item.added':
        return this.itemAdded(event);
      case 'response.function_call_arguments.delta': {
        const index = this.tools.get(Number(event.output_index));
        if (index !== undefined) this.delta({ toolCalls: [{ index, function: { arguments: text(event.delta) } }] });
        return;
      }
      case 'response.completed':
      case 'response.incomplete':
        return this.finish(event.response);
      case 'response.failed': {
        const response = isObject(event.response) ? event.response : {};
        const error = isObject(response.error) ? response.error : {};
        return this.emit(failure(text(error.message) || 'The upstream response failed.', typeof error.code === 'string' ? error.code : null, null));
      }
      case 'error':
        return this.emit(failure(text(event.message) || 'The upstream reported an error mid-stream.', typeof event.code === 'string' ? event.code : null, typeof event.param === 'string' ? event.param : null));
      default:
        return;
    }
  }

  private start(response: unknown): void {
    if (this.started || !isObject(response)) return;
    this.started = true;
    this.emit({ type: 'start', identity: { id: text(response.id), model: text(response.model), created: Number(response.created_at) || Math.floor(Date.now() / 1000) } });
  }

  private delta(fields: Omit<Extract<AnswerEvent, { type: 'delta' }>, 'type' | 'index'>): void {
    const event: Extract<AnswerEvent, { type: 'delta' }> = { type: 'delta', index: 0, ...fields };
    if (!this.announced) event.role = this.announced = true;
    this.emit(event);
  }

  private itemAdded(event: Json): void {
    const item = event.item;
    if (!isObject(item) || item.type !== 'function_call') return;
    const index = this.tools.size;
    this.tools.set(Number(event.output_index), index);
    this.delta({ toolCalls: [{ index, id: text(item.call_id), type: 'function', function: { name: text(item.name), arguments: text(item.arguments) } }] });
  }

  private finish(response: unknown): void {
    const body = isObject(response) ? response : {};
    this.emit({ type: 'finish', index: 0, reason: finishOf(body, this.tools.size > 0) });
    const usage = usageOf(body.usage);
    if (usage) this.emit({ type: 'usage', usage });
    this.emit({ type: 'done' });
  }
}

function invalid(message: string): AnswerEvent {
  return { type: 'error', error: { status: 502, message, type: 'upstream_error', code: 'upstream_invalid_response', param: null } };
}

function failure(message: string, code: string | null, param: string | null): AnswerEvent {
  return { type: 'error', error: { status: 502, message, type: 'upstream_error', code, param } };
}

const TERMINAL = /^(?:event:[ \t]*(?:response\.(?:completed|incomplete|failed)|error)[ \t]*\r?$|data:[ \t]*\{[ \t]*"type"[ \t]*:[ \t]*"(?:response\.(?:completed|incomplete|failed)|error)")/m;
/** How far back the last event's first lines are looked for (its `event:` line, or its data's `type`). */
const HEAD_BYTES = 256;

/**
 * The last event of these bytes (complete events, as a stream passed untouched delivers them) is a
 * terminal one: `response.completed`, `response.incomplete`, `response.failed` or `error`. The Responses
 * API has no `[DONE]`: a stream cut before its terminal event is truncated.
 */
export function endsWithTerminalEvent(bytes: Buffer): boolean {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 10 || bytes[end - 1] === 13)) end--;
  if (end === 0) return false;
  const lf = bytes.lastIndexOf('\n\n', end - 1);
  const crlf = bytes.lastIndexOf('\r\n\r\n', end - 1);
  const start = Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
  return TERMINAL.test(bytes.subarray(start, Math.min(end, start + HEAD_BYTES)).toString('utf8'));
}

export const openAIResponsesAnswers: AnswerDecoder = {
  wire: 'openai-responses',
  endsWithTerminator: endsWithTerminalEvent,
  whole: (body) => decodeWholeResponse(body),
  stream: (_request, emit, options) => new ResponsesStreamDecoder(emit, options),
};
