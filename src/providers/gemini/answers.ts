import { randomBytes } from 'node:crypto';
import type { Answer, AnswerChoice, AnswerEvent, FinishReason, StreamErrorInfo, ToolCall, ToolCallDelta, Usage } from '../../answer/types.js';
import type { ChatRequest } from '../../chat/schema.js';
import type { SseEvent } from '../../sse/parser.js';
import { SseStreamDecoder } from '../sse-decoder.js';
import type { AnswerDecoder, DecoderOptions } from '../types.js';
import type { GoogleExtraContent } from './request.js';

/**
 * Gemini answers (`GenerateContentResponse`, whole from `:generateContent` and as the `alt=sse` stream
 * of `:streamGenerateContent`) read into the pipeline's answer.
 * https://ai.google.dev/api/generate-content#generatecontentresponse
 *
 * Text parts are the content, `thought: true` parts the reasoning, `functionCall` parts tool calls (whole:
 * Gemini never streams partial arguments). A stream has no end marker: each event is a whole response
 * holding only the new parts, and the event whose candidate carries a `finishReason` is the last, so it
 * ends the answer there; a stream that ends without one was cut. `usageMetadata` is cumulative on every
 * event: the last one counts.
 */

interface GeminiPart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { name?: string; args?: unknown; id?: string };
}

interface GeminiCandidate {
  content?: { parts?: GeminiPart[]; role?: string };
  finishReason?: string;
  index?: number;
}

export interface GeminiUsage {
  promptTokenCount?: number;
  cachedContentTokenCount?: number;
  candidatesTokenCount?: number;
  toolUsePromptTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount?: number;
}

interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsage;
  modelVersion?: string;
  responseId?: string;
  error?: { code?: unknown; message?: unknown; status?: unknown };
}

/**
 * Gemini's finish reasons as OpenAI's: STOP → stop (tool_calls when the candidate called functions),
 * MAX_TOKENS and CONTINUATION (a per-request limit) → length, the safety family → content_filter, the
 * rest (OTHER, MALFORMED_FUNCTION_CALL, …, reasons added later) → stop.
 */
export function finishReason(reason: string | undefined, calledFunctions = false): FinishReason | null {
  switch (reason) {
    case undefined:
    case '':
      return null;
    case 'STOP':
      return calledFunctions ? 'tool_calls' : 'stop';
    case 'MAX_TOKENS':
    case 'CONTINUATION':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'LANGUAGE':
    case 'IMAGE_SAFETY':
    case 'IMAGE_PROHIBITED_CONTENT':
    case 'IMAGE_RECITATION':
      return 'content_filter';
    default:
      return calledFunctions ? 'tool_calls' : 'stop';
  }
}

/**
 * `usageMetadata` as OpenAI's usage: thoughts are billed as output, so they count in completion_tokens
 * (and in completion_tokens_details.reasoning_tokens); tokens of tool-use prompts count as prompt.
 */
export function toUsage(meta: GeminiUsage): Usage {
  const prompt = (meta.promptTokenCount ?? 0) + (meta.toolUsePromptTokenCount ?? 0);
  const thoughts = meta.thoughtsTokenCount ?? 0;
  const completion = (meta.candidatesTokenCount ?? 0) + thoughts;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: meta.totalTokenCount ?? prompt + completion };
  if (meta.cachedContentTokenCount) usage.prompt_tokens_details = { cached_tokens: meta.cachedContentTokenCount };
  if (thoughts > 0) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

const now = () => Math.floor(Date.now() / 1000);

/** Gemini 2.5 gives function calls no id: the proxy names them. */
function callId(call: GeminiPart['functionCall']): string {
  return typeof call?.id === 'string' && call.id.length > 0 ? call.id : `call_${randomBytes(12).toString('hex')}`;
}

/** A function call as OpenAI's, its thought signature kept where Gemini's OpenAI-compatible endpoint keeps it. */
function toolCall(part: GeminiPart): ToolCall & GoogleExtraContent {
  const call: ToolCall & GoogleExtraContent = {
    id: callId(part.functionCall),
    type: 'function',
    function: { name: part.functionCall?.name ?? '', arguments: JSON.stringify(part.functionCall?.args ?? {}) },
  };
  if (part.thoughtSignature) call.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return call;
}

function isResponse(body: unknown): body is GeminiResponse {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return false;
  const response = body as GeminiResponse;
  return Array.isArray(response.candidates) || (typeof response.promptFeedback === 'object' && response.promptFeedback !== null);
}

function wholeAnswer(body: unknown, request: ChatRequest): Answer {
  if (!isResponse(body)) throw new Error('not a Gemini GenerateContentResponse: no candidates');
  const candidates = body.candidates ?? [];
  const choices: AnswerChoice[] = candidates.map((candidate, position) => {
    let text = '';
    let reasoning = '';
    const toolCalls: ToolCall[] = [];
    for (const part of candidate.content?.parts ?? []) {
      if (part.functionCall) toolCalls.push(toolCall(part));
      else if (typeof part.text === 'string') {
        if (part.thought === true) reasoning += part.text;
        else text += part.text;
      }
    }
    const choice: AnswerChoice = {
      index: typeof candidate.index === 'number' ? candidate.index : position,
      content: text.length > 0 || toolCalls.length === 0 ? text : null,
      finishReason: finishReason(candidate.finishReason, toolCalls.length > 0) ?? 'stop',
    };
    if (reasoning.length > 0) choice.reasoning = reasoning;
    if (toolCalls.length > 0) choice.toolCalls = toolCalls;
    return choice;
  });
  // A blocked prompt has no candidates, only promptFeedback.blockReason.
  if (choices.length === 0) choices.push({ index: 0, content: '', finishReason: 'content_filter' });
  const answer: Answer = { id: body.responseId ?? '', model: body.modelVersion ?? request.model ?? '', created: now(), choices };
  if (body.usageMetadata) answer.usage = toUsage(body.usageMetadata);
  return answer;
}

/** Google's canonical error codes (`status`) as OpenAI error types. */
function errorType(status: string | undefined, code: number): string {
  switch (status) {
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
    case 'OUT_OF_RANGE':
      return 'invalid_request_error';
    case 'UNAUTHENTICATED':
    case 'PERMISSION_DENIED':
      return 'authentication_error';
    case 'NOT_FOUND':
      return 'not_found_error';
    case 'RESOURCE_EXHAUSTED':
      return 'rate_limit_error';
    case 'DEADLINE_EXCEEDED':
      return 'timeout_error';
    default:
      return code >= 400 && code < 500 ? 'invalid_request_error' : 'server_error';
  }
}

/** An `{"error": {"code", "message", "status"}}` event inside a stream. */
export function streamError(error: NonNullable<GeminiResponse['error']>): StreamErrorInfo {
  const code = typeof error.code === 'number' && error.code >= 400 && error.code <= 599 ? error.code : 502;
  const status = typeof error.status === 'string' ? error.status : undefined;
  return {
    status: code,
    message: typeof error.message === 'string' ? error.message : 'The upstream reported an error mid-stream.',
    type: errorType(status, code),
    code: status ?? String(code),
    param: null,
  };
}

function upstreamError(message: string, code: string): AnswerEvent {
  return { type: 'error', error: { status: 502, message, type: 'upstream_error', param: null, code } };
}

interface ChoiceState {
  toolCalls: number;
  finished: boolean;
}

class GeminiStreamDecoder extends SseStreamDecoder {
  private started = false;
  private ended = false;
  private usage: Usage | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  /** Candidates the request asked for (`n`): the answer ends when each has finished. */
  private readonly expected: number;

  constructor(
    emit: (event: AnswerEvent) => void,
    options: DecoderOptions,
    private readonly request: ChatRequest,
  ) {
    super(emit, options);
    this.expected = typeof request.n === 'number' && request.n > 1 ? request.n : 1;
  }

  protected override onEnd(): void {
    if (this.ended) return;
    this.failed = true;
    this.emit(upstreamError('The upstream stream ended before a candidate finished (no finishReason).', 'upstream_stream_truncated'));
  }

  protected onEvent({ data }: SseEvent): void {
    // Whatever follows the finishing event (nothing, on the Gemini API) is not part of the answer.
    if (this.ended || data.length === 0) return;
    let payload: GeminiResponse;
    try {
      payload = JSON.parse(data) as GeminiResponse;
    } catch {
      this.failed = true;
      return this.emit(upstreamError(`The upstream sent an event that is not JSON: ${data.slice(0, 100)}`, 'upstream_invalid_response'));
    }
    if (payload && typeof payload === 'object' && payload.error && typeof payload.error === 'object') {
      this.failed = true;
      return this.emit({ type: 'error', error: streamError(payload.error) });
    }
    if (!isResponse(payload) && !(payload && typeof payload === 'object' && (payload as GeminiResponse).usageMetadata)) {
      this.failed = true;
      return this.emit(upstreamError('The upstream sent an event that is not a GenerateContentResponse.', 'upstream_invalid_response'));
    }
    if (!this.started) {
      this.started = true;
      this.emit({ type: 'start', identity: { id: payload.responseId ?? '', model: payload.modelVersion ?? this.request.model ?? '', created: now() } });
    }
    if (payload.usageMetadata) this.usage = toUsage(payload.usageMetadata);
    let finishedNow = false;
    (payload.candidates ?? []).forEach((candidate, position) => {
      const index = typeof candidate.index === 'number' ? candidate.index : position;
      const state = this.choice(index);
      for (const part of candidate.content?.parts ?? []) this.onPart(index, state, part);
      const reason = finishReason(candidate.finishReason, state.toolCalls > 0);
      if (reason && !state.finished) {
        state.finished = finishedNow = true;
        this.emit({ type: 'finish', index, reason });
      }
    });
    if (!payload.candidates?.length && payload.promptFeedback?.blockReason) {
      // A blocked prompt: no candidates at all.
      const state = this.choice(0);
      state.finished = finishedNow = true;
      this.emit({ type: 'finish', index: 0, reason: 'content_filter' });
    }
    if (finishedNow && this.allFinished()) {
      this.ended = true;
      if (this.usage) this.emit({ type: 'usage', usage: this.usage });
      this.emit({ type: 'done' });
    }
  }

  private choice(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      state = { toolCalls: 0, finished: false };
      this.choices.set(index, state);
      this.emit({ type: 'delta', index, role: true, content: '' });
    }
    return state;
  }

  private allFinished(): boolean {
    if (this.choices.size < this.expected) return false;
    for (const state of this.choices.values()) if (!state.finished) return false;
    return true;
  }

  private onPart(index: number, state: ChoiceState, part: GeminiPart): void {
    if (part.functionCall) {
      const call = toolCall(part);
      const delta: ToolCallDelta & GoogleExtraContent = { index: state.toolCalls++, id: call.id, type: 'function', function: call.function };
      if (call.extra_content) delta.extra_content = call.extra_content;
      this.emit({ type: 'delta', index, toolCalls: [delta] });
      return;
    }
    // A part that carries only a thought signature (Gemini 3's last event) has empty text.
    if (typeof part.text !== 'string' || part.text.length === 0) return;
    if (part.thought === true) this.emit({ type: 'delta', index, reasoning: part.text });
    else this.emit({ type: 'delta', index, content: part.text });
  }
}

const FINISH_REASON = Buffer.from('"finishReason"');

export const geminiAnswers: AnswerDecoder = {
  wire: 'gemini',
  // The finishing event is the last: a complete stream's last event names a finishReason.
  // Searched in place (no copy of the chunk): this runs on every chunk of a passed-through stream.
  endsWithTerminator(bytes) {
    let end = bytes.length;
    while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d || bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
    if (end === 0) return false;
    const start = Math.max(bytes.lastIndexOf('\ndata:', end - 1), bytes.lastIndexOf('\rdata:', end - 1), 0);
    const found = bytes.indexOf(FINISH_REASON, start);
    return found !== -1 && found < end;
  },
  whole: (body, request) => wholeAnswer(body, request),
  stream: (request, emit, options) => new GeminiStreamDecoder(emit, options, request),
};
