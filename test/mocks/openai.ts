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
  return startMockServer(async (request, res) => {
    if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return openaiError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
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

function openaiError(res: ServerResponse, status: number, message: string, type: string, code: string | null): void {
  sendJson(res, status, { error: { message, type, param: null, code } });
}
