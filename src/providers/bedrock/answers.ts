import { randomUUID } from 'node:crypto';
import type { Answer, AnswerChoice, AnswerEvent, FinishReason, StreamErrorInfo, ToolCall, Usage } from '../../answer/types.js';
import type { ChatRequest } from '../../chat/schema.js';
import { toUsage as anthropicUsage } from '../anthropic/answers.js';
import { eventTooLarge, type AnswerDecoder, type DecoderOptions, type StreamDecoder } from '../types.js';
import { EventStreamSplitter, FrameError, type EventStreamFrame } from './event-stream.js';

/**
 * Bedrock Converse answers read into the pipeline's answer: the whole `ConverseResponse` (JSON), and
 * ConverseStream's binary AWS event-stream (not SSE).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
 */

interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

interface ConverseBlock {
  text?: string;
  reasoningContent?: { reasoningText?: { text?: string }; redactedContent?: string };
  toolUse?: { toolUseId?: string; name?: string; input?: unknown };
}

interface ConverseResponse {
  output?: { message?: { role?: string; content?: ConverseBlock[] } };
  stopReason?: string;
  usage?: ConverseUsage;
}

/** The content type of ConverseStream answers. */
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

export function finishReason(stopReason: string | null | undefined): FinishReason | null {
  switch (stopReason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    case null:
    case undefined:
      return null;
    default:
      // malformed_model_output, malformed_tool_use and reasons added later: the turn is over.
      return 'stop';
  }
}

/**
 * Bedrock's token counts, OpenAI-named. `inputTokens` leaves out cached tokens (as Anthropic's
 * `input_tokens` does; `totalTokens` counts them), so the prompt is input + cache read + cache write.
 */
export function toUsage(usage: ConverseUsage): Usage {
  return anthropicUsage({
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_read_input_tokens: usage.cacheReadInputTokens,
    cache_creation_input_tokens: usage.cacheWriteInputTokens,
  });
}

const now = () => Math.floor(Date.now() / 1000);
/** Converse answers carry no ID of their own (the request ID is a header): one is made up. */
const newId = () => `chatcmpl-${randomUUID()}`;

function wholeAnswer(body: unknown, request: ChatRequest): Answer {
  const response = body as ConverseResponse;
  const content = response?.output?.message?.content;
  if (!Array.isArray(content)) throw new Error('not a Converse answer: no output.message.content');
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (typeof block.text === 'string') text += block.text;
    else if (block.reasoningContent) reasoning += block.reasoningContent.reasoningText?.text ?? '';
    else if (block.toolUse) {
      toolCalls.push({ id: block.toolUse.toolUseId ?? '', type: 'function', function: { name: block.toolUse.name ?? '', arguments: JSON.stringify(block.toolUse.input ?? {}) } });
    }
  }
  const choice: AnswerChoice = { index: 0, content: text.length > 0 || toolCalls.length === 0 ? text : null, finishReason: finishReason(response.stopReason) ?? 'stop' };
  if (reasoning.length > 0) choice.reasoning = reasoning;
  if (toolCalls.length > 0) choice.toolCalls = toolCalls;
  return { id: newId(), model: request.model ?? '', created: now(), choices: [choice], usage: toUsage(response.usage ?? {}) };
}

/**
 * ConverseStream's events (`:event-type`): messageStart, contentBlockStart (tool use only),
 * contentBlockDelta (text, reasoningContent, toolUse input pieces), contentBlockStop, messageStop (the stop
 * reason), metadata (usage; the last event). Exceptions (`:message-type: exception`, or `error`) end the
 * stream with an error event; a stream that ends before messageStop and metadata is truncated.
 */
class ConverseStreamDecoder implements StreamDecoder {
  private readonly splitter: EventStreamSplitter;
  private readonly toolIndexOfBlock = new Map<number, number>();
  private failed = false;
  private stopped = false;
  private done = false;

  constructor(
    private readonly request: ChatRequest,
    private readonly emit: (event: AnswerEvent) => void,
    private readonly options: DecoderOptions,
  ) {
    this.splitter = new EventStreamSplitter(options.maxEventBytes, (frame) => this.onFrame(frame));
  }

  write(bytes: Buffer): void {
    if (this.failed) return;
    try {
      this.splitter.push(bytes);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.fail(err.kind === 'too_large' ? (eventTooLarge(this.options.maxEventBytes) as Extract<AnswerEvent, { type: 'error' }>).error : upstreamError(err.message, 'upstream_invalid_response'));
    }
  }

  end(): void {
    if (this.failed || this.done) return;
    this.fail(
      upstreamError(
        this.stopped ? 'The upstream stream ended before its metadata event.' : 'The upstream stream ended before messageStop.',
        'upstream_stream_truncated',
      ),
    );
  }

  private fail(error: StreamErrorInfo): void {
    this.failed = true;
    this.emit({ type: 'error', error });
  }

  private onFrame({ headers, body }: EventStreamFrame): void {
    if (this.failed) return;
    const messageType = headers[':message-type'] ?? 'event';
    if (messageType === 'error') {
      const code = headers[':error-code'] ?? 'InternalServerException';
      return this.fail(streamException(code, headers[':error-message'] ?? 'The upstream reported an error mid-stream.'));
    }
    let payload: Record<string, unknown>;
    try {
      const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
      payload = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return this.fail(upstreamError('The upstream sent an event whose payload is not JSON.', 'upstream_invalid_response'));
    }
    if (messageType === 'exception') {
      const message = typeof payload.message === 'string' ? payload.message : 'The upstream reported an error mid-stream.';
      const original = typeof payload.originalMessage === 'string' && payload.originalMessage.length > 0 ? ` (${payload.originalMessage})` : '';
      return this.fail(streamException(headers[':exception-type'] ?? 'InternalServerException', message + original));
    }
    if (messageType !== 'event') return;
    switch (headers[':event-type']) {
      case 'messageStart':
        this.emit({ type: 'start', identity: { id: newId(), model: this.request.model ?? '', created: now() } });
        this.emit({ type: 'delta', index: 0, role: true, content: '' });
        return;
      case 'contentBlockStart': {
        const start = (payload.start ?? {}) as { toolUse?: { toolUseId?: string; name?: string } };
        if (start.toolUse) {
          const index = this.toolIndex(Number(payload.contentBlockIndex));
          this.emit({ type: 'delta', index: 0, toolCalls: [{ index, id: start.toolUse.toolUseId, type: 'function', function: { name: start.toolUse.name, arguments: '' } }] });
        }
        return;
      }
      case 'contentBlockDelta': {
        const delta = (payload.delta ?? {}) as { text?: unknown; reasoningContent?: { text?: unknown }; toolUse?: { input?: unknown } };
        if (typeof delta.text === 'string') this.emit({ type: 'delta', index: 0, content: delta.text });
        else if (delta.reasoningContent) {
          // Text pieces are the thinking; signature and redactedContent pieces carry nothing for the client.
          if (typeof delta.reasoningContent.text === 'string') this.emit({ type: 'delta', index: 0, reasoning: delta.reasoningContent.text });
        } else if (delta.toolUse && typeof delta.toolUse.input === 'string') {
          const index = this.toolIndex(Number(payload.contentBlockIndex));
          this.emit({ type: 'delta', index: 0, toolCalls: [{ index, function: { arguments: delta.toolUse.input } }] });
        }
        return;
      }
      case 'messageStop':
        this.stopped = true;
        this.emit({ type: 'finish', index: 0, reason: finishReason(payload.stopReason as string | undefined) ?? 'stop' });
        return;
      case 'metadata':
        if (payload.usage && typeof payload.usage === 'object') this.emit({ type: 'usage', usage: toUsage(payload.usage as ConverseUsage) });
        // metadata is the last event: after messageStop, the answer is complete.
        if (this.stopped) {
          this.done = true;
          this.emit({ type: 'done' });
        }
        return;
      default:
        // contentBlockStop and event types added later carry nothing for the client.
        return;
    }
  }

  /** The OpenAI tool-call index of a content block (tool calls counted in order). */
  private toolIndex(block: number): number {
    let index = this.toolIndexOfBlock.get(block);
    if (index === undefined) {
      index = this.toolIndexOfBlock.size;
      this.toolIndexOfBlock.set(block, index);
    }
    return index;
  }
}

/** HTTP statuses of ConverseStream's exceptions, as the API reference gives them. */
const EXCEPTION_STATUS: Readonly<Record<string, number>> = {
  internalserverexception: 500,
  modelstreamerrorexception: 424,
  validationexception: 400,
  throttlingexception: 429,
  servicequotaexceededexception: 400,
  serviceunavailableexception: 503,
  modeltimeoutexception: 408,
};

/** An exception frame as an error event; the code is the exception's name as the SDKs spell it (`ThrottlingException`). */
function streamException(type: string, message: string): StreamErrorInfo {
  const name = type.charAt(0).toUpperCase() + type.slice(1);
  const status = EXCEPTION_STATUS[type.toLowerCase()] ?? 502;
  return { status, message, type: 'upstream_error', param: null, code: name };
}

function upstreamError(message: string, code: string): StreamErrorInfo {
  return { status: 502, message, type: 'upstream_error', param: null, code };
}

export const bedrockAnswers: AnswerDecoder = {
  wire: 'bedrock-converse',
  streamContentType: EVENT_STREAM_CONTENT_TYPE,
  // No door speaks Bedrock's format: its bytes are always decoded, never passed on.
  endsWithTerminator: () => false,
  whole: (body, request) => wholeAnswer(body, request),
  stream: (request, emit, options) => new ConverseStreamDecoder(request, emit, options),
};
