import type { ServerResponse } from 'node:http';
import { greedyTokens, renderChatml, renderContent, type TemplateMessage } from './chat-template.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * Mistral's chat API as its docs and observed errors describe it: unknown fields and nulls are a 422
 * (`extra_forbidden`); a trailing assistant message needs `prefix: true`, else a 400 with code "3230"
 * (`invalid_request_message_order`); with `prefix: true` the answer starts with the prefix — whole when
 * not streamed, and streamed split over several deltas with its end glued to generated text.
 */
const FIELDS = new Set(['model', 'messages', 'temperature', 'top_p', 'max_tokens', 'stream', 'stop', 'random_seed', 'response_format', 'tools', 'tool_choice', 'presence_penalty', 'frequency_penalty', 'n', 'prediction', 'parallel_tool_calls', 'safe_prompt', 'prompt_mode']);
const MESSAGE_FIELDS: Record<string, string[]> = {
  system: ['role', 'content'],
  user: ['role', 'content'],
  assistant: ['role', 'content', 'tool_calls', 'prefix'],
  tool: ['role', 'content', 'tool_call_id', 'name'],
};

export async function startMistral(options: { port?: number; apiKey?: string } = {}): Promise<MockServer> {
  return startMockServer(async (request, res) => {
    if (request.headers.authorization !== `Bearer ${options.apiKey ?? 'sk-mistral'}`) {
      return sendJson(res, 401, { message: 'Unauthorized', request_id: '8f3c2a1b' });
    }
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return sendJson(res, 404, { detail: 'Not Found' });
    const body = request.json ?? {};
    for (const [key, value] of Object.entries(body)) {
      if (!FIELDS.has(key)) return unprocessable(res, 'extra_forbidden', ['body', key], 'Extra inputs are not permitted', value);
      if (value === null) return unprocessable(res, 'null_forbidden', ['body', key], 'Input should not be None', value);
    }
    const messages = body.messages as Array<TemplateMessage & Record<string, unknown>>;
    for (const [index, message] of messages.entries()) {
      const allowed = MESSAGE_FIELDS[message.role] ?? [];
      for (const [key, value] of Object.entries(message)) {
        if (!allowed.includes(key)) return unprocessable(res, 'extra_forbidden', ['body', 'messages', index, message.role, key], 'Extra inputs are not permitted', value);
        if (value === null) return unprocessable(res, 'null_forbidden', ['body', 'messages', index, message.role, key], 'Input should not be None', value);
      }
    }
    const last = messages[messages.length - 1]!;
    if (last.role === 'assistant' && last.prefix !== true) {
      return sendJson(res, 400, {
        object: 'error',
        message: 'Expected last role User or Tool (or Assistant with prefix True) for serving but got assistant',
        type: 'invalid_request_message_order',
        param: null,
        code: '3230',
      });
    }
    const prefilled = last.role === 'assistant';
    const prefix = prefilled ? renderContent(last.content) : '';
    const tokens = greedyTokens(renderChatml(messages, { continueFinal: prefilled, addGenerationPrompt: !prefilled }));
    const usage = { prompt_tokens: 18, total_tokens: 18 + tokens.length, completion_tokens: tokens.length };
    const base = { id: 'cmpl-e5cc70bb28c444948073e77776eb30ef', created: 1_788_000_300, model: body.model };
    if (body.stream !== true) {
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: prefix + tokens.join(''), tool_calls: null, prefix: false }, finish_reason: 'stop' }],
        usage,
      });
    }
    startSse(res);
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }], ...extra });
    writeEvent(res, chunk({ role: 'assistant', content: '' }, null));
    // The repeated prefix arrives in pieces of 4 characters; its tail is glued to the first token.
    let rest = prefix;
    while (rest.length > 4) {
      writeEvent(res, chunk({ content: rest.slice(0, 4) }, null));
      rest = rest.slice(4);
    }
    tokens.forEach((token, i) => writeEvent(res, chunk({ content: (i === 0 ? rest : '') + token }, null)));
    writeEvent(res, chunk({ content: '' }, 'stop', { usage }));
    writeEvent(res, '[DONE]');
    res.end();
  }, options.port);
}

function unprocessable(res: ServerResponse, type: string, loc: Array<string | number>, msg: string, input: unknown): void {
  sendJson(res, 422, { object: 'error', message: { detail: [{ type, loc, msg, input }] }, type: 'invalid_request_error', param: null, code: null });
}
