import type { ServerResponse } from 'node:http';
import { greedyTokens, maxTokensOf, renderChatml, renderContent, type TemplateMessage } from './chat-template.js';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer, type RecordedRequest } from './server.js';

/**
 * A llama.cpp `llama-server` as its source and DESIGN.md §2 describe it:
 * - a trailing assistant message is continued (unless started with `--no-prefill-assistant`);
 * - newer builds take `continue_final_message: true` and refuse it without `add_generation_prompt: false`;
 * - two assistant messages at the end of the list are a 400;
 * - content parts are joined with a blank line; the request's `model` is ignored;
 * - the `2026-09` build repeats the prefix: whole in the non-streamed content, glued to the first streamed
 *   delta for a plain trailing assistant message; with `continue_final_message` its stream leaves the
 *   prefix out while its non-streamed answer keeps it. The `2025` build never repeats it;
 * - older builds refuse prefill with a thinking model unless `enable_thinking` is false;
 * - the raw routes `/apply-template` and `/completion`, `/v1/embeddings`, `/v1/models`, `/health`.
 */
export interface LlamaCppOptions {
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  build?: '2025' | '2026-09';
  /** false = started with --no-prefill-assistant. */
  prefillAssistant?: boolean;
  /** A thinking model on a build that refuses prefill while thinking is on. */
  thinkingModel?: boolean;
  apiKey?: string;
  /** Milliseconds between streamed tokens. */
  tokenDelayMs?: number;
}

const FINGERPRINT = 'b7311-5d2f1c4a';
const MODEL_ALIAS = 'stories260K.gguf';

export async function startLlamaCpp(options: LlamaCppOptions = {}): Promise<MockServer> {
  const build = options.build ?? '2026-09';
  const prefillAssistant = options.prefillAssistant ?? true;

  return startMockServer(async (request, res) => {
    if (options.apiKey && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return llamaError(res, 401, 'Invalid API Key', 'authentication_error');
    }
    const path = request.url.split('?')[0];
    if (request.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (request.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: MODEL_ALIAS, object: 'model', created: 1_760_000_000, owned_by: 'llamacpp', meta: { n_ctx_train: 128 } }],
      });
    }
    if (request.method !== 'POST') return llamaError(res, 404, 'File Not Found', 'not_found_error');
    if (!request.json) return llamaError(res, 500, '[json.exception.parse_error.101] parse error', 'server_error');
    const body = request.json;

    if (path === '/apply-template') {
      const rendered = render(body, prefillAssistant, build, options.thinkingModel === true);
      if ('error' in rendered) return llamaError(res, 400, rendered.error, 'invalid_request_error');
      return sendJson(res, 200, { prompt: rendered.prompt });
    }
    if (path === '/completion' || path === '/completions') {
      const prompt = String(body.prompt ?? '');
      const tokens = greedyTokens(prompt, maxTokensOf(body, 8));
      if (body.stream === true) {
        startSse(res);
        for (const token of tokens) writeEvent(res, { content: token, stop: false });
        writeEvent(res, { content: '', stop: true, stop_type: 'eos' });
        return void res.end();
      }
      return sendJson(res, 200, { content: tokens.join(''), stop: true, stop_type: 'eos', tokens_predicted: tokens.length });
    }
    if (path === '/v1/embeddings' || path === '/embeddings') {
      return sendJson(res, 200, {
        object: 'list',
        model: MODEL_ALIAS,
        data: [{ object: 'embedding', index: 0, embedding: [0.125, -0.25, 0.5] }],
        usage: { prompt_tokens: 3, total_tokens: 3 },
      });
    }
    if (path === '/v1/chat/completions' || path === '/chat/completions') return chat(request, res, body);
    return llamaError(res, 404, 'File Not Found', 'not_found_error');
  }, options.port);

  async function chat(_request: RecordedRequest, res: ServerResponse, body: Record<string, unknown>) {
    const rendered = render(body, prefillAssistant, build, options.thinkingModel === true);
    if ('error' in rendered) return llamaError(res, 400, rendered.error, 'invalid_request_error');
    const tokens = greedyTokens(rendered.prompt, maxTokensOf(body, 8));
    const continuation = tokens.join('');
    const echoed = build === '2026-09' && rendered.prefilled ? rendered.prefix : '';
    const viaContinue = body.continue_final_message === true;
    const created = Math.floor(Date.now() / 1000);
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 14)}`;
    const usage = { completion_tokens: tokens.length, prompt_tokens: rendered.prompt.length, total_tokens: tokens.length + rendered.prompt.length };

    if (body.stream !== true) {
      return sendJson(res, 200, {
        choices: [{ finish_reason: 'stop', index: 0, message: { role: 'assistant', content: echoed + continuation } }],
        created,
        model: MODEL_ALIAS,
        system_fingerprint: FINGERPRINT,
        object: 'chat.completion',
        usage,
        id,
        timings: { prompt_n: 12, predicted_n: tokens.length },
      });
    }
    startSse(res);
    const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
      choices: [{ finish_reason: finish, index: 0, delta }],
      created,
      id,
      model: MODEL_ALIAS,
      system_fingerprint: FINGERPRINT,
      object: 'chat.completion.chunk',
      ...extra,
    });
    writeEvent(res, chunk({ role: 'assistant', content: null }, null));
    const streamedEcho = viaContinue ? '' : echoed;
    for (let i = 0; i < tokens.length; i++) {
      if (options.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, options.tokenDelayMs));
      writeEvent(res, chunk({ content: (i === 0 ? streamedEcho : '') + tokens[i] }, null));
    }
    writeEvent(res, chunk({}, 'stop', { timings: { prompt_n: 12, predicted_n: tokens.length } }));
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) writeEvent(res, { ...chunk({}, null), choices: [], usage });
    writeEvent(res, '[DONE]');
    res.end();
  }
}

type Rendered = { prompt: string; prefilled: boolean; prefix: string } | { error: string };

function render(body: Record<string, unknown>, prefillAssistant: boolean, build: LlamaCppOptions['build'], thinkingModel: boolean): Rendered {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as TemplateMessage[];
  if (messages.length === 0) return { error: "'messages' is required" };
  const last = messages[messages.length - 1]!;
  const continueFinal = body.continue_final_message === true;
  const addGenerationPrompt = body.add_generation_prompt !== false;
  if (build === '2026-09' && continueFinal && addGenerationPrompt) {
    return { error: 'continue_final_message requires add_generation_prompt to be false' };
  }
  const lastIsAssistant = last.role === 'assistant';
  const prefilled = lastIsAssistant && (prefillAssistant || (build === '2026-09' && continueFinal));
  if (prefilled && messages.length >= 2 && messages[messages.length - 2]!.role === 'assistant') {
    return { error: 'Cannot have 2 or more assistant messages at the end of the list.' };
  }
  if (prefilled && thinkingModel && thinkingEnabled(body)) return { error: 'Assistant response prefill is incompatible with enable_thinking.' };
  const prompt = renderChatml(messages, { continueFinal: prefilled, addGenerationPrompt: prefilled ? false : addGenerationPrompt || !lastIsAssistant });
  const prefix = prefilled ? renderContent(last.content) : '';
  return { prompt, prefilled, prefix };
}

function thinkingEnabled(body: Record<string, unknown>): boolean {
  const kwargs = body.chat_template_kwargs as { enable_thinking?: boolean } | undefined;
  return kwargs?.enable_thinking !== false;
}

function llamaError(res: ServerResponse, status: number, message: string, type: string): void {
  sendJson(res, status, { error: { code: status, message, type } });
}
