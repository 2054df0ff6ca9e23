import type { ServerResponse } from 'node:http';
import { CONTINUE_INSTRUCTION } from '../../src/prefill/emulate.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * OpenAI's Chat Completions as far as prefill is concerned: no native prefill (a trailing assistant
 * message is answered as a new turn), unknown request arguments are a 400
 * ("Unrecognized request argument supplied: …"), a wrong key is a 401 with code `invalid_api_key`.
 * Its stand-in model answers a continue instruction with `continuation`, repeating the partial answer
 * first when `repeatsPrefix` is set (models told to continue sometimes do).
 */
const KNOWN_ARGUMENTS = new Set([
  'model', 'messages', 'stream', 'stream_options', 'temperature', 'top_p', 'n', 'stop', 'max_tokens', 'max_completion_tokens',
  'presence_penalty', 'frequency_penalty', 'logit_bias', 'user', 'seed', 'tools', 'tool_choice', 'response_format', 'logprobs', 'top_logprobs',
]);

export interface OpenAIOptions {
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  apiKey?: string;
  continuation?: string;
  repeatsPrefix?: boolean;
}

export async function startOpenAI(options: OpenAIOptions = {}): Promise<MockServer> {
  const continuation = options.continuation ?? ' jumped over the lazy dog.';
  const stored = new Map<string, Record<string, unknown>>();
  return startMockServer(async (request, res) => {
    if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return openaiError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    if (request.method === 'POST' && request.url === '/v1/responses') return responses(request.json ?? {}, res, stored);
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return openaiError(res, 404, 'Not found', 'invalid_request_error', null);
    const body = request.json ?? {};
    for (const key of Object.keys(body)) {
      if (!KNOWN_ARGUMENTS.has(key)) return openaiError(res, 400, `Unrecognized request argument supplied: ${key}`, 'invalid_request_error', null);
    }
    const messages = body.messages as Array<{ role: string; content: string }>;
    const last = messages.at(-1)!;
    let content = 'How can I help you today?';
    if (last.role === 'user' && last.content === CONTINUE_INSTRUCTION) {
      const partial = messages.at(-2)!.content;
      content = (options.repeatsPrefix ? partial : '') + continuation;
    }
    const base = { id: 'chatcmpl-AbC123', created: 1_788_000_000, model: 'gpt-4o-mini-2024-07-18', system_fingerprint: 'fp_0ba0d124f1' };
    if (body.stream !== true) {
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 },
        service_tier: 'default',
      });
    }
    startSse(res);
    const pieces = content.match(/\s*\S+/g) ?? [];
    writeEvent(res, { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] });
    for (const piece of pieces) writeEvent(res, { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] });
    writeEvent(res, { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] });
    writeEvent(res, '[DONE]');
    res.end();
  }, options.port);
}

function openaiError(res: ServerResponse, status: number, message: string, type: string, code: string | null, param: string | null = null): void {
  sendJson(res, status, { error: { message, type, param, code } });
}

/**
 * OpenAI's Responses API (`POST /v1/responses`) as its reference documents it: a parameter it does not
 * know is a 400 `unknown_parameter` naming it; responses are stored unless `"store": false`, and
 * `previous_response_id` must name a stored one (400 `previous_response_not_found`); hosted tools are
 * accepted. The stand-in model answers `RESPONSES_REPLY` (`RESPONSES_FOLLOW_UP` after a previous
 * response); streamed, as named events with sequence numbers, one word per `response.output_text.delta`.
 */
export const RESPONSES_REPLY = 'How can I help you today?';
export const RESPONSES_FOLLOW_UP = 'As I said before: how can I help you today?';
const RESPONSES_PARAMETERS = new Set([
  'background', 'context_management', 'conversation', 'include', 'input', 'instructions', 'max_output_tokens', 'max_tool_calls',
  'metadata', 'model', 'parallel_tool_calls', 'previous_response_id', 'prompt', 'prompt_cache_key', 'prompt_cache_retention',
  'reasoning', 'safety_identifier', 'service_tier', 'store', 'stream', 'stream_options', 'temperature', 'text', 'tool_choice',
  'tools', 'top_logprobs', 'top_p', 'truncation', 'user',
]);

let responseCount = 0;

function responses(body: Record<string, unknown>, res: ServerResponse, stored: Map<string, Record<string, unknown>>): void {
  for (const key of Object.keys(body)) {
    if (!RESPONSES_PARAMETERS.has(key)) return openaiError(res, 400, `Unknown parameter: '${key}'.`, 'invalid_request_error', 'unknown_parameter', key);
  }
  if (typeof body.model !== 'string') return openaiError(res, 400, "Missing required parameter: 'model'.", 'invalid_request_error', 'missing_required_parameter', 'model');
  const previous = body.previous_response_id;
  if (typeof previous === 'string' && !stored.has(previous)) {
    return openaiError(res, 400, `Previous response with id '${previous}' not found.`, 'invalid_request_error', 'previous_response_not_found', 'previous_response_id');
  }
  const text = typeof previous === 'string' ? RESPONSES_FOLLOW_UP : RESPONSES_REPLY;
  const id = `resp_mock${String(++responseCount).padStart(6, '0')}`;
  const messageId = `msg_mock${String(responseCount).padStart(6, '0')}`;
  const words = text.match(/\s*\S+/g) ?? [];
  const base = {
    id,
    object: 'response',
    created_at: 1_788_000_000,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model: 'gpt-4o-mini-2024-07-18',
    output: [] as unknown[],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: previous ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: body.store !== false,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    metadata: body.metadata ?? {},
  };
  const part = { type: 'output_text', text, annotations: [], logprobs: [] };
  const message = { id: messageId, type: 'message', status: 'completed', role: 'assistant', content: [part] };
  const usage = { input_tokens: 12, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: words.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 + words.length };
  const done = { ...base, status: 'completed', completed_at: 1_788_000_001, output: [message], usage };
  if (body.store !== false) stored.set(id, done);
  if (body.stream !== true) return sendJson(res, 200, done);
  startSse(res);
  let sequence = 0;
  const send = (type: string, fields: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`);
  const at = { item_id: messageId, output_index: 0, content_index: 0 };
  send('response.created', { response: base });
  send('response.in_progress', { response: base });
  send('response.output_item.added', { output_index: 0, item: { ...message, status: 'in_progress', content: [] } });
  send('response.content_part.added', { ...at, part: { ...part, text: '' } });
  for (const word of words) send('response.output_text.delta', { ...at, delta: word, logprobs: [] });
  send('response.output_text.done', { ...at, text, logprobs: [] });
  send('response.content_part.done', { ...at, part });
  send('response.output_item.done', { output_index: 0, item: message });
  send('response.completed', { response: done });
  res.end();
}
