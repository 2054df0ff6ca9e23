import type { ServerResponse } from 'node:http';
import { greedyTokens, maxTokensOf, renderChatml, renderContent, type TemplateMessage } from './chat-template.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * vLLM's OpenAI-compatible server as its docs and source describe it: `continue_final_message` renders
 * the last assistant message open-ended and must come with `add_generation_prompt: false` (default true;
 * both true is a 400); without it a trailing assistant message starts a new turn; `echo: true` repeats
 * the last message's content; the served model name must match (404 otherwise); `--api-key` gives a
 * 401 `{"error": "Unauthorized"}`; errors use `{"object":"error", ...}`.
 */
export interface VllmOptions {
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  servedModel?: string;
  apiKey?: string;
}

export async function startVllm(options: VllmOptions = {}): Promise<MockServer> {
  const servedModel = options.servedModel ?? 'Qwen/Qwen2.5-0.5B-Instruct';
  return startMockServer(async (request, res) => {
    if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: 'Unauthorized' });
    }
    const path = request.url.split('?')[0];
    if (request.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: servedModel, object: 'model', created: 1_760_000_000, owned_by: 'vllm', root: servedModel, max_model_len: 32768 }],
      });
    }
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      const body = request.json;
      if (!body) return vllmError(res, 400, 'Expecting value: line 1 column 1 (char 0)');
      if (body.model !== servedModel) return vllmError(res, 404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError');
      return chat(res, body);
    }
    return sendJson(res, 404, { detail: 'Not Found' });
  }, options.port);

  async function chat(res: ServerResponse, body: Record<string, unknown>) {
    const messages = body.messages as TemplateMessage[];
    const continueFinal = body.continue_final_message === true;
    const addGenerationPrompt = body.add_generation_prompt !== false;
    if (continueFinal && addGenerationPrompt) {
      return vllmError(res, 400, 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
    }
    const last = messages[messages.length - 1]!;
    if (continueFinal && last.role !== 'assistant') {
      return vllmError(res, 400, 'continue_final_message is set but the final message is not from the assistant.');
    }
    const prompt = renderChatml(messages, { continueFinal, addGenerationPrompt });
    const tokens = greedyTokens(prompt, maxTokensOf(body, 8));
    const echoed = body.echo === true ? renderContent(last.content) : '';
    const id = `chatcmpl-${Math.random().toString(16).slice(2, 18)}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = { prompt_tokens: prompt.length, total_tokens: prompt.length + tokens.length, completion_tokens: tokens.length, prompt_tokens_details: null };
    if (body.stream !== true) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: servedModel,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', reasoning_content: null, content: echoed + tokens.join(''), tool_calls: [] },
            logprobs: null,
            finish_reason: 'stop',
            stop_reason: null,
          },
        ],
        usage,
        prompt_logprobs: null,
      });
    }
    startSse(res);
    const chunk = (delta: object, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: servedModel,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...(finish ? { stop_reason: null } : {}) }],
    });
    writeEvent(res, chunk({ role: 'assistant', content: '' }, null));
    if (echoed) writeEvent(res, chunk({ content: echoed }, null));
    for (const token of tokens) writeEvent(res, chunk({ content: token }, null));
    writeEvent(res, chunk({ content: '' }, 'stop'));
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) writeEvent(res, { id, object: 'chat.completion.chunk', created, model: servedModel, choices: [], usage });
    writeEvent(res, '[DONE]');
    res.end();
  }
}

function vllmError(res: ServerResponse, status: number, message: string, type = 'BadRequestError'): void {
  sendJson(res, status, { object: 'error', message, type, param: null, code: status });
}
