import type { Answer, AnswerChoice, AnswerEvent, ChoiceTextFields, FinishReason, ToolCall, ToolCallDelta } from '../../answer/types.js';
import { toUsage } from '../../answer/usage.js';
import type { SseEvent } from '../../sse/parser.js';
import { SseStreamDecoder } from '../sse-decoder.js';
import { withRequiredNulls } from './required-nulls.js';
import type { AnswerDecoder } from '../types.js';

/**
 * OpenAI Chat Completions answers (whole `chat.completion` objects and `chat.completion.chunk`
 * streams) read into the pipeline's answer. Fields the pipeline does not model are kept (`extra`) so
 * a door that speaks Chat Completions can give them back.
 */

const ANSWER_KEYS = new Set(['id', 'object', 'created', 'model', 'choices', 'usage']);
const MESSAGE_KEYS = new Set(['role', 'content', 'reasoning_content', 'reasoning', 'tool_calls', 'refusal']);
const DELTA_KEYS = MESSAGE_KEYS;
/** Chunk fields worth repeating on every chunk the proxy writes. */
const REPEATED_CHUNK_KEYS = ['system_fingerprint', 'service_tier'] as const;

interface WireMessage {
  content?: unknown;
  reasoning_content?: unknown;
  reasoning?: unknown;
  tool_calls?: unknown;
  refusal?: unknown;
  [key: string]: unknown;
}

interface WireChoice {
  index?: unknown;
  message?: WireMessage | null;
  delta?: WireMessage | null;
  finish_reason?: unknown;
  logprobs?: unknown;
}

function reasoningOf(message: WireMessage): string | undefined {
  if (typeof message.reasoning_content === 'string') return message.reasoning_content;
  return typeof message.reasoning === 'string' ? message.reasoning : undefined;
}

function extraOf(object: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> | undefined {
  let extra: Record<string, unknown> | undefined;
  for (const key in object) {
    if (known.has(key)) continue;
    (extra ??= {})[key] = object[key];
  }
  return extra;
}

function identityOf(body: Record<string, unknown>) {
  return {
    id: typeof body.id === 'string' ? body.id : '',
    model: typeof body.model === 'string' ? body.model : '',
    created: typeof body.created === 'number' ? body.created : Math.floor(Date.now() / 1000),
  };
}

function finishOf(value: unknown): FinishReason | null {
  return typeof value === 'string' && value.length > 0 ? (value as FinishReason) : null;
}

export function decodeWholeAnswer(body: unknown): Answer {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { choices?: unknown }).choices)) {
    throw new Error('not a chat completion: no choices');
  }
  const wire = body as Record<string, unknown>;
  const choices = (wire.choices as WireChoice[]).map((choice, position): AnswerChoice => {
    const message = (choice?.message ?? {}) as WireMessage;
    const out: AnswerChoice = {
      index: typeof choice?.index === 'number' ? choice.index : position,
      content: typeof message.content === 'string' ? message.content : null,
      finishReason: finishOf(choice?.finish_reason),
    };
    const reasoning = reasoningOf(message);
    if (reasoning !== undefined) out.reasoning = reasoning;
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) out.toolCalls = message.tool_calls as ToolCall[];
    if (typeof message.refusal === 'string') out.refusal = message.refusal;
    if (choice?.logprobs !== undefined && choice.logprobs !== null) out.logprobs = choice.logprobs;
    const extra = extraOf(message, MESSAGE_KEYS);
    if (extra) out.messageExtra = extra;
    return out;
  });
  const answer: Answer = { ...identityOf(wire), choices };
  const usage = toUsage(wire.usage);
  if (usage) answer.usage = usage;
  const extra = extraOf(wire, ANSWER_KEYS);
  if (extra) answer.extra = extra;
  return answer;
}

const CHOICE_KEYS = new Set(['index', 'message', 'logprobs', 'finish_reason']);

/**
 * The answer plan applied to a whole chat completion in place, when decoding it and encoding it again
 * for the Chat Completions door would give the same object (see AnswerDecoder.rewriteInPlace): every
 * field already in the type the decoder keeps (string id and model, numeric created and counters,
 * assistant messages with string-or-null content, `reasoning_content` as the only reasoning field, no
 * empty tool-call list, no choice field the door drops). The door's required fields are added:
 * `message.refusal` and `choices[].logprobs`, null when absent. llama.cpp's answers are of this form.
 */
export function rewriteCompletionInPlace(body: unknown, rewrite: (choice: ChoiceTextFields) => void): boolean {
  if (!body || typeof body !== 'object') return false;
  const wire = body as Record<string, unknown>;
  const choices = wire.choices;
  if (!Array.isArray(choices) || wire.object !== 'chat.completion' || typeof wire.id !== 'string' || typeof wire.model !== 'string' || typeof wire.created !== 'number') return false;
  if (wire.usage !== undefined && !plainUsage(wire.usage)) return false;
  for (const choice of choices as unknown[]) if (!plainChoice(choice)) return false;
  for (const choice of choices as Array<{ message: WireMessage; logprobs?: unknown }>) {
    const message = choice.message;
    const text: ChoiceTextFields = { content: message.content as string | null };
    if (message.reasoning_content !== undefined) text.reasoning = message.reasoning_content as string;
    rewrite(text);
    message.content = text.content;
    if (text.reasoning !== undefined) message.reasoning_content = text.reasoning;
    else delete message.reasoning_content;
    message.refusal ??= null;
    choice.logprobs ??= null;
  }
  return true;
}

function plainChoice(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const choice = value as WireChoice & Record<string, unknown>;
  for (const key in choice) if (!CHOICE_KEYS.has(key)) return false;
  const finish = choice.finish_reason;
  if (typeof choice.index !== 'number' || !(finish === null || (typeof finish === 'string' && finish.length > 0))) return false;
  const message = choice.message;
  if (!message || typeof message !== 'object' || message.role !== 'assistant') return false;
  if (!(typeof message.content === 'string' || message.content === null)) return false;
  if (message.reasoning !== undefined || !(message.reasoning_content === undefined || typeof message.reasoning_content === 'string')) return false;
  if (!(message.refusal === undefined || message.refusal === null || typeof message.refusal === 'string')) return false;
  return message.tool_calls === undefined || (Array.isArray(message.tool_calls) && message.tool_calls.length > 0);
}

/** Usage as toUsage would give it back: numeric counters that add up, no empty details. */
function plainUsage(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const usage = value as Record<string, unknown>;
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total } = usage;
  if (typeof prompt !== 'number' || typeof completion !== 'number' || typeof total !== 'number') return false;
  if (!Number.isFinite(total) || (total === 0 && prompt + completion !== 0) || Number.isNaN(prompt) || Number.isNaN(completion)) return false;
  for (const key in usage) if (usage[key] === null || usage[key] === undefined) return false;
  return true;
}

/** Decodes an OpenAI chat-completion stream: chunks become events, `[DONE]` ends it. */
export class OpenAIChatStreamDecoder extends SseStreamDecoder {
  private started = false;

  protected onEvent({ data }: SseEvent): void {
    if (data === '[DONE]') return this.emit({ type: 'done' });
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(data) as Record<string, unknown>;
    } catch {
      // A stream the proxy has to read is a stream it can tell is broken: say so, never pass garbage on.
      return this.emit(invalidEvent('The upstream sent a stream event that is not valid JSON.'));
    }
    if (!chunk || typeof chunk !== 'object') return this.emit(invalidEvent('The upstream sent a stream event that is not a JSON object.'));
    const choices = chunk.choices;
    if (!Array.isArray(choices)) {
      if (chunk.error && typeof chunk.error === 'object') return this.emit(upstreamStreamError(chunk.error as Record<string, unknown>));
      const usage = toUsage(chunk.usage);
      if (usage) this.emit({ type: 'usage', usage });
      return;
    }
    if (!this.started) {
      this.started = true;
      let extra: Record<string, unknown> | undefined;
      for (const key of REPEATED_CHUNK_KEYS) if (chunk[key] !== undefined && chunk[key] !== null) (extra ??= {})[key] = chunk[key];
      this.emit({ type: 'start', identity: identityOf(chunk), extra });
    }
    for (const choice of choices as WireChoice[]) this.onChoice(choice);
    const usage = chunk.usage === undefined || chunk.usage === null ? undefined : toUsage(chunk.usage);
    if (usage) this.emit({ type: 'usage', usage });
  }

  private onChoice(choice: WireChoice): void {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const delta = choice.delta;
    if (delta && typeof delta === 'object') {
      const event: Extract<AnswerEvent, { type: 'delta' }> = { type: 'delta', index };
      let any = false;
      if (delta.role !== undefined && delta.role !== null) event.role = any = true;
      if (typeof delta.content === 'string') {
        event.content = delta.content;
        any = true;
      }
      const reasoning = reasoningOf(delta);
      if (reasoning !== undefined) {
        event.reasoning = reasoning;
        any = true;
      }
      if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
        event.toolCalls = delta.tool_calls as ToolCallDelta[];
        any = true;
      }
      if (typeof delta.refusal === 'string') {
        event.refusal = delta.refusal;
        any = true;
      }
      if (choice.logprobs !== undefined && choice.logprobs !== null) {
        event.logprobs = choice.logprobs;
        any = true;
      }
      const extra = extraOf(delta, DELTA_KEYS);
      if (extra) {
        event.extra = extra;
        any = true;
      }
      if (any) this.emit(event);
    }
    const reason = finishOf(choice.finish_reason);
    if (reason) this.emit({ type: 'finish', index, reason });
  }
}

function invalidEvent(message: string): AnswerEvent {
  return { type: 'error', error: { status: 502, message, type: 'upstream_error', code: 'upstream_invalid_response', param: null } };
}

/** An OpenAI-style `{"error": {...}}` event from the upstream. */
function upstreamStreamError(error: Record<string, unknown>): AnswerEvent {
  return {
    type: 'error',
    error: {
      status: 502,
      message: typeof error.message === 'string' ? error.message : 'The upstream reported an error mid-stream.',
      type: typeof error.type === 'string' ? error.type : 'upstream_error',
      code: typeof error.code === 'string' || typeof error.code === 'number' ? String(error.code) : null,
      param: typeof error.param === 'string' ? error.param : null,
    },
  };
}

const DONE = Buffer.from('data: [DONE]');

/** The stream's last event is `data: [DONE]` (each line ending in LF or CR LF). */
export function endsWithDone(bytes: Buffer): boolean {
  // Compared byte by byte in place: this runs on every chunk of a passed-through stream, and must
  // neither allocate nor call into native code (two native compares per chunk showed in the profile).
  let end = bytes.length;
  // The blank line's end, then the data line's: each LF or CR LF.
  for (let line = 0; line < 2; line++) {
    if (bytes[end - 1] !== 0x0a) return false;
    end -= bytes[end - 2] === 0x0d ? 2 : 1;
  }
  const start = end - DONE.length;
  // At a line's start (or the chunk's: what came before is not known here).
  if (start < 0 || (start > 0 && bytes[start - 1] !== 0x0a && bytes[start - 1] !== 0x0d)) return false;
  for (let i = 0; i < DONE.length; i++) if (bytes[start + i] !== DONE[i]) return false;
  return true;
}

export const openAIChatAnswers: AnswerDecoder = {
  wire: 'openai-chat',
  endsWithTerminator: endsWithDone,
  whole: (body) => decodeWholeAnswer(body),
  rewriteInPlace: rewriteCompletionInPlace,
  asDoorBytes: withRequiredNulls,
  stream: (_request, emit, options) => new OpenAIChatStreamDecoder(emit, options),
};
