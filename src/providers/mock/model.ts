import { Readable } from 'node:stream';
import type { Upstream, UpstreamRequest, UpstreamResponse } from '../../upstream/types.js';

/**
 * A deterministic stand-in for a model server, built in so that a new user sees prefill work with no
 * configuration and no network. It speaks OpenAI Chat Completions, continues a last assistant message
 * marked `prefix: true` (answering with the continuation only), streams one word per SSE event, honours
 * `max_tokens`, `n` and `stream_options.include_usage`.
 */

export const MOCK_MODEL_ID = 'mock-1';
/** A thinking model: writes `<think>…</think>` before its answer, and continues either when prefilled. */
export const MOCK_THINKER_ID = 'mock-thinker';
export const MOCK_THOUGHT =
  'The user wants a story. A story needs a hero, a place and a problem. The hero could be a small fox who lives by a wide river. ' +
  'The problem could be that the river is too wide to cross. I should keep it short and kind,';
export const MOCK_THOUGHT_END = ' so the fox will build a raft and cross at dawn.';
export const MOCK_ANSWER = 'Once upon a time, a small fox built a raft and crossed the wide river at dawn.';
export const MOCK_CONTINUATION = ' there was a proxy that finished every sentence it was given.';
export const MOCK_REPLY =
  'Hello from the prefill-proxy mock model. End your messages with a partial assistant message and I will continue it.';

interface MockMessage {
  role?: unknown;
  content?: unknown;
  prefix?: unknown;
}

interface MockAnswer {
  tokens: string[];
  finishReason: 'stop' | 'length';
  promptTokens: number;
}

/** Words with their leading whitespace: the mock's notion of a token. */
export function mockTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

export function mockAnswer(body: Record<string, unknown>): MockAnswer {
  const messages = Array.isArray(body.messages) ? (body.messages as MockMessage[]) : [];
  const last = messages[messages.length - 1];
  const prefilled = last?.role === 'assistant' && last.prefix === true;
  let tokens: string[];
  if (body.model === MOCK_THINKER_ID) {
    tokens = mockTokens(thinkerText(prefilled ? textOf(last.content) : undefined));
  } else if (prefilled) {
    const prefix = textOf(last.content);
    tokens = mockTokens(MOCK_CONTINUATION);
    // A prefix that ends in whitespace is continued without a second space, as a tokenizer would.
    if (/\s$/.test(prefix) && tokens[0]) tokens[0] = tokens[0].trimStart();
  } else {
    tokens = mockTokens(MOCK_REPLY);
  }
  const limit = numberOr(body.max_completion_tokens, numberOr(body.max_tokens, Infinity));
  const finishReason = tokens.length > limit ? 'length' : 'stop';
  if (tokens.length > limit) tokens = tokens.slice(0, Math.max(0, limit));
  let promptTokens = 0;
  for (const message of messages) promptTokens += mockTokens(textOf(message.content)).length + 1;
  return { tokens, finishReason, promptTokens };
}

/** What the thinking model writes, given what was prefilled (as its chat template would render it). */
function thinkerText(prefilled: string | undefined): string {
  if (prefilled === undefined) return `<think>\n${MOCK_THOUGHT}${MOCK_THOUGHT_END}\n</think>\n\n${MOCK_ANSWER}`;
  const close = prefilled.indexOf('</think>');
  if (prefilled.includes('<think>') && close === -1) return `${MOCK_THOUGHT_END}\n</think>\n\n${MOCK_ANSWER}`;
  const answerSoFar = close === -1 ? prefilled : prefilled.slice(close + '</think>'.length).trim();
  return answerSoFar.length === 0 ? MOCK_ANSWER : MOCK_CONTINUATION;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

let counter = 0;
const created = () => Math.floor(Date.now() / 1000);

function completion(body: Record<string, unknown>, answer: MockAnswer) {
  const n = Math.max(1, Math.min(8, numberOr(body.n, 1)));
  const content = answer.tokens.join('');
  return {
    id: `chatcmpl-mock-${++counter}`,
    object: 'chat.completion',
    created: created(),
    model: typeof body.model === 'string' ? body.model : MOCK_MODEL_ID,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: { role: 'assistant', content, refusal: null },
      logprobs: null,
      finish_reason: answer.finishReason,
    })),
    usage: usage(answer, n),
  };
}

function usage(answer: MockAnswer, n: number) {
  const completionTokens = answer.tokens.length * n;
  return {
    prompt_tokens: answer.promptTokens,
    completion_tokens: completionTokens,
    total_tokens: answer.promptTokens + completionTokens,
  };
}

function* sseEvents(body: Record<string, unknown>, answer: MockAnswer): Generator<string> {
  const n = Math.max(1, Math.min(8, numberOr(body.n, 1)));
  const base = {
    id: `chatcmpl-mock-${++counter}`,
    object: 'chat.completion.chunk',
    created: created(),
    model: typeof body.model === 'string' ? body.model : MOCK_MODEL_ID,
  };
  const chunk = (index: number, delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  for (let index = 0; index < n; index++) yield chunk(index, { role: 'assistant', content: '' }, null);
  for (const token of answer.tokens) {
    for (let index = 0; index < n; index++) yield chunk(index, { content: token }, null);
  }
  for (let index = 0; index < n; index++) yield chunk(index, {}, answer.finishReason);
  const options = body.stream_options as { include_usage?: unknown } | undefined;
  if (options?.include_usage === true) {
    yield `data: ${JSON.stringify({ ...base, choices: [], usage: usage(answer, n) })}\n\n`;
  }
  yield 'data: [DONE]\n\n';
}

function json(statusCode: number, payload: unknown): UpstreamResponse {
  const text = JSON.stringify(payload);
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
    body: Readable.from([Buffer.from(text)]),
  };
}

function error(statusCode: number, message: string): UpstreamResponse {
  return json(statusCode, { error: { message, type: 'invalid_request_error', param: null, code: null } });
}

async function readBody(body: UpstreamRequest['body']): Promise<string> {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export class MockUpstream implements Upstream {
  readonly description = 'built-in mock model';

  async request(request: UpstreamRequest): Promise<UpstreamResponse> {
    const path = request.path.split('?')[0];
    if (request.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      return json(200, {
        object: 'list',
        data: [
          { id: MOCK_MODEL_ID, object: 'model', created: 1_735_689_600, owned_by: 'prefill-proxy' },
          { id: MOCK_THINKER_ID, object: 'model', created: 1_735_689_600, owned_by: 'prefill-proxy' },
        ],
      });
    }
    if (request.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readBody(request.body)) as Record<string, unknown>;
      } catch {
        return error(400, 'The mock model expects a JSON body.');
      }
      if (!Array.isArray(body.messages) || body.messages.length === 0) return error(400, '`messages` must be a non-empty array.');
      const answer = mockAnswer(body);
      if (body.stream === true) {
        return {
          statusCode: 200,
          headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
          body: Readable.from(sseEvents(body, answer), { objectMode: false }),
        };
      }
      return json(200, completion(body, answer));
    }
    return error(404, `The mock model has no route ${request.method} ${path}.`);
  }

  async close(): Promise<void> {}
}
