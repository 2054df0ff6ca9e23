import { randomUUID } from 'node:crypto';
import type { Answer, AnswerEvent, FinishReason } from '../../answer/types.js';
import type { ChatRequest } from '../../chat/schema.js';
import type { SseEvent } from '../../sse/parser.js';
import { SseStreamDecoder } from '../sse-decoder.js';
import type { AnswerDecoder, DecoderOptions, JsonBody } from '../types.js';

/**
 * llama.cpp's raw route: the prompt rendered by the server's own chat template (`/apply-template`),
 * continued by `/completion`. It works on every build, whatever the build understands of reasoning
 * prefill, and it is llama.cpp's own definition of a continuation. Its answers are llama.cpp's native
 * shape (`{content, stop, stop_type, tokens_predicted, tokens_evaluated}`; streamed as such events,
 * the last with `stop: true`, and no `[DONE]`), read here into the pipeline's answer.
 */

/** Sampling fields of a chat request that `/completion` takes under the same name. */
const SAME_NAME = [
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'typical_p',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'repeat_penalty',
  'repeat_last_n',
  'dry_multiplier',
  'dry_base',
  'dry_allowed_length',
  'xtc_probability',
  'xtc_threshold',
  'mirostat',
  'mirostat_tau',
  'mirostat_eta',
  'grammar',
  'json_schema',
  'logit_bias',
  'n_probs',
  'ignore_eos',
  'cache_prompt',
  'samplers',
  'id_slot',
] as const;

/** The `/completion` body that continues `prompt` with the chat request's sampling settings. */
export function completionBody(request: ChatRequest, prompt: string): JsonBody {
  const body: JsonBody = { prompt };
  for (const field of SAME_NAME) {
    const value = (request as Record<string, unknown>)[field];
    if (value !== undefined && value !== null) body[field] = value;
  }
  // b5640 ignores max_completion_tokens; n_predict is understood by every build.
  const limit = request.max_tokens ?? request.max_completion_tokens;
  if (typeof limit === 'number') body.n_predict = limit;
  const stop = request.stop;
  if (typeof stop === 'string') body.stop = [stop];
  else if (Array.isArray(stop)) body.stop = stop;
  const format = request.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | null | undefined;
  if (format?.type === 'json_schema' && format.json_schema?.schema && body.json_schema === undefined) body.json_schema = format.json_schema.schema;
  if (request.stream === true) body.stream = true;
  return body;
}

function finishOf(stopType: unknown): FinishReason {
  return stopType === 'limit' ? 'length' : 'stop';
}

function usageOf(body: Record<string, unknown>) {
  const prompt = Number(body.tokens_evaluated) || 0;
  const completion = Number(body.tokens_predicted) || 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

const now = () => Math.floor(Date.now() / 1000);
const newId = () => `chatcmpl-${randomUUID().replace(/-/g, '')}`;
const modelOf = (request: ChatRequest, body: Record<string, unknown>) =>
  typeof request.model === 'string' ? request.model : typeof body.model === 'string' ? body.model : '';

function wholeAnswer(body: unknown, request: ChatRequest): Answer {
  if (!body || typeof body !== 'object' || typeof (body as { content?: unknown }).content !== 'string') {
    throw new Error('not a llama.cpp completion: no content');
  }
  const wire = body as Record<string, unknown>;
  return {
    id: newId(),
    model: modelOf(request, wire),
    created: now(),
    choices: [{ index: 0, content: wire.content as string, finishReason: finishOf(wire.stop_type) }],
    usage: usageOf(wire),
  };
}

class CompletionStreamDecoder extends SseStreamDecoder {
  private started = false;

  constructor(
    private readonly request: ChatRequest,
    emit: (event: AnswerEvent) => void,
    options: DecoderOptions,
  ) {
    super(emit, options);
  }

  protected onEvent({ data }: SseEvent): void {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return this.emit({
        type: 'error',
        error: { status: 502, message: 'The upstream sent a stream event that is not valid JSON.', type: 'upstream_error', code: 'upstream_invalid_response', param: null },
      });
    }
    if (event.error && typeof event.error === 'object') {
      const error = event.error as Record<string, unknown>;
      return this.emit({
        type: 'error',
        error: { status: 502, message: String(error.message ?? 'The upstream reported an error mid-stream.'), type: String(error.type ?? 'upstream_error'), code: null, param: null },
      });
    }
    if (!this.started) {
      this.started = true;
      this.emit({ type: 'start', identity: { id: newId(), model: modelOf(this.request, event), created: now() } });
      this.emit({ type: 'delta', index: 0, role: true, content: '' });
    }
    if (typeof event.content === 'string' && event.content.length > 0) this.emit({ type: 'delta', index: 0, content: event.content });
    if (event.stop === true) {
      this.emit({ type: 'finish', index: 0, reason: finishOf(event.stop_type) });
      this.emit({ type: 'usage', usage: usageOf(event) });
      this.emit({ type: 'done' });
    }
  }
}

const STOP_TRUE = Buffer.from('"stop":true');

export const completionAnswers: AnswerDecoder = {
  wire: 'llamacpp-completion',
  endsWithTerminator: (bytes) => {
    // The last event carries "stop":true; it also carries the generation settings, so look further back.
    const start = bytes.lastIndexOf('data:', bytes.length - 1);
    return start !== -1 && bytes.includes(STOP_TRUE, start);
  },
  whole: wholeAnswer,
  stream: (request, emit, options) => new CompletionStreamDecoder(request, emit, options),
};
