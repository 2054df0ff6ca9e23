import type { ServerResponse } from 'node:http';
import { greedyTokens, renderChatml, type TemplateMessage } from './chat-template.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * DeepSeek's API as its docs describe it: chat at `/chat/completions` (also `/v1/...`), prefix
 * completion (`prefix: true` on the last assistant message) only under `/beta`, else a 400; the reasoner
 * refuses a trailing assistant message without prefix; `reasoning_content` on the prefix message is a
 * chain-of-thought prefix for the reasoner; SSE keep-alive comments (`: keep-alive`) before the first
 * event, and blank lines before a non-streamed body while it waits.
 */
export interface DeepSeekOptions {
  port?: number;
  apiKey?: string;
}

type Message = TemplateMessage & { prefix?: boolean; reasoning_content?: string };

export async function startDeepSeek(options: DeepSeekOptions = {}): Promise<MockServer> {
  return startMockServer(async (request, res) => {
    if (request.headers.authorization !== `Bearer ${options.apiKey ?? 'sk-deepseek'}`) {
      return dsError(res, 401, 'Authentication Fails, Your api key: ****seek is invalid', 'authentication_error');
    }
    const path = request.url.split('?')[0]!;
    const beta = path.startsWith('/beta/');
    if (request.method === 'GET' && (path === '/models' || path === '/v1/models')) {
      return sendJson(res, 200, { object: 'list', data: [{ id: 'deepseek-chat', object: 'model', owned_by: 'deepseek' }, { id: 'deepseek-reasoner', object: 'model', owned_by: 'deepseek' }] });
    }
    if (!['/chat/completions', '/v1/chat/completions', '/beta/chat/completions'].includes(path)) return dsError(res, 404, 'Not Found', 'invalid_request_error');
    const body = request.json;
    if (!body) return dsError(res, 400, 'Failed to deserialize the JSON body into the target type', 'invalid_request_error');
    const messages = body.messages as Message[];
    const last = messages[messages.length - 1]!;
    const reasoner = body.model === 'deepseek-reasoner';
    if (last.role === 'assistant' && last.prefix === true && !beta) {
      return dsError(res, 400, 'prefix is only available when using beta api', 'invalid_request_error');
    }
    if (reasoner && last.role === 'assistant' && last.prefix !== true) {
      return dsError(res, 400, 'The last message of deepseek-reasoner must be a user message, or an assistant message with prefix mode on', 'invalid_request_error');
    }
    const prefilled = last.role === 'assistant' && last.prefix === true;
    const tokens = greedyTokens(renderChatml(messages, { continueFinal: prefilled, addGenerationPrompt: !prefilled }));
    const reasoning = reasoner ? `${prefilled && last.reasoning_content ? '' : 'Thinking. '}So the answer follows.` : undefined;
    const usage = { prompt_tokens: 20, completion_tokens: tokens.length, total_tokens: 20 + tokens.length, prompt_cache_hit_tokens: 0, prompt_cache_miss_tokens: 20 };
    const base = { id: '930c60df-bf64-41c9-a88e-3ec75f81e00e', created: 1_788_000_200, model: body.model, system_fingerprint: 'fp_3a5770e1b4_prod0225' };
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('\n\n'); // DeepSeek keeps the connection alive with blank lines before the JSON.
      res.end(JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: tokens.join(''), ...(reasoning ? { reasoning_content: reasoning } : {}) }, logprobs: null, finish_reason: 'stop' }],
        usage,
      }));
      return;
    }
    startSse(res);
    res.write(': keep-alive\n\n');
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra });
    writeEvent(res, chunk({ role: 'assistant', content: reasoning ? null : '', ...(reasoning ? { reasoning_content: '' } : {}) }, null));
    if (reasoning) writeEvent(res, chunk({ content: null, reasoning_content: reasoning }, null));
    for (const token of tokens) writeEvent(res, chunk({ content: token }, null));
    writeEvent(res, chunk({ content: '' }, 'stop', { usage }));
    writeEvent(res, '[DONE]');
    res.end();
  }, options.port);
}

function dsError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: 'invalid_request_error' } });
}
