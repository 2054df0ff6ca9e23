import type { ServerResponse } from 'node:http';
import { greedyTokens } from './chat-template.js';
import { sendJson, startMockServer, type MockServer } from './server.js';

/**
 * Anthropic's Messages API as its docs describe it: `x-api-key` and `anthropic-version` headers,
 * `max_tokens` required, a trailing assistant turn is continued (answer = continuation only) unless its
 * text ends in whitespace (400) or the model is Claude 4.6 or later (400: no prefill) or thinking is on
 * (400: the final assistant message must start with a thinking block); named SSE events with `ping`,
 * cumulative `output_tokens` in `message_delta`; optional mid-stream `error` event.
 */
export interface AnthropicOptions {
  port?: number;
  apiKey?: string;
  /** Send an `overloaded_error` event after this many text deltas. */
  failAfterDeltas?: number;
  /** Models that refuse prefill (default: Claude 4.6 and later). */
  noPrefillModels?: RegExp;
  /** The model's own output limit per answer: beyond it the answer stops with `max_tokens`. */
  maxOutputTokens?: number;
}

type Block = { type: string; text?: string; [key: string]: unknown };
type Message = { role: string; content: string | Block[] };

export async function startAnthropic(options: AnthropicOptions = {}): Promise<MockServer> {
  return startMockServer(async (request, res) => {
    if (request.headers['x-api-key'] !== (options.apiKey ?? 'sk-ant-test')) {
      return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (!request.headers['anthropic-version']) return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version: header is required');
    if (request.method !== 'POST' || request.url !== '/v1/messages') return anthropicError(res, 404, 'not_found_error', 'Not found');
    const body = request.json;
    if (!body) return anthropicError(res, 400, 'invalid_request_error', 'There was an error parsing the body of your request.');
    if (typeof body.max_tokens !== 'number') return anthropicError(res, 400, 'invalid_request_error', 'max_tokens: Field required');
    if (typeof body.model !== 'string') return anthropicError(res, 400, 'invalid_request_error', 'model: Field required');
    for (const key of ['temperature', 'top_p', 'stop_sequences', 'system', 'stream', 'tools', 'tool_choice', 'thinking', 'metadata', 'top_k']) {
      if (key in body && body[key] === null) return anthropicError(res, 400, 'invalid_request_error', `${key}: Input should not be null`);
    }
    for (const key of Object.keys(body)) {
      if (!['model', 'messages', 'max_tokens', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'system', 'stream', 'tools', 'tool_choice', 'thinking', 'metadata'].includes(key)) {
        return anthropicError(res, 400, 'invalid_request_error', `${key}: Extra inputs are not permitted`);
      }
    }
    const messages = body.messages as Message[];
    if (!Array.isArray(messages) || messages.length === 0) return anthropicError(res, 400, 'invalid_request_error', 'messages: at least one message is required');
    const last = messages[messages.length - 1]!;
    const thinking = (body.thinking as { type?: string; budget_tokens?: number } | undefined)?.type === 'enabled';
    let prefix = '';
    if (last.role === 'assistant') {
      if ((options.noPrefillModels ?? /^claude-(opus|sonnet|haiku)-(4-[6-9]|[5-9])/).test(String(body.model))) {
        return anthropicError(res, 400, 'invalid_request_error', 'This model does not support assistant message prefill. The conversation must end with a user message.');
      }
      prefix = textOf(last.content);
      if (/\s$/.test(prefix)) return anthropicError(res, 400, 'invalid_request_error', 'messages: final assistant content cannot end with trailing whitespace');
      if (thinking) {
        return anthropicError(res, 400, 'invalid_request_error', 'messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.');
      }
    }
    const prompt = JSON.stringify({ system: body.system, messages });
    const limit = Math.min(typeof body.max_tokens === 'number' ? body.max_tokens : 8, options.maxOutputTokens ?? Infinity);
    const tokens = greedyTokens(prompt + (prefix ? '' : ' '), limit);
    // After a prefix (whose trailing whitespace the caller removed) the model starts with a space.
    if (prefix && tokens[0] && !tokens[0].startsWith(' ')) tokens[0] = ` ${tokens[0]}`;
    const toolChoice = body.tool_choice as { type?: string; name?: string } | undefined;
    const tools = body.tools as Array<{ name: string }> | undefined;
    const toolUse = tools && (toolChoice?.type === 'any' || toolChoice?.type === 'tool') ? (toolChoice.name ?? tools[0]!.name) : undefined;
    const stopReason = toolUse ? 'tool_use' : tokens.length >= limit ? 'max_tokens' : 'end_turn';
    const usage = { input_tokens: prompt.length, cache_creation_input_tokens: 0, cache_read_input_tokens: 12, output_tokens: tokens.length };
    const id = 'msg_01XFDUDYJgAACzvnptvVoYEL';
    const content: Block[] = [];
    if (thinking) content.push({ type: 'thinking', thinking: 'Let me think about the fox.', signature: 'EqQBCgIYAhIM' });
    if (toolUse) content.push({ type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: toolUse, input: { location: 'Paris' } });
    else content.push({ type: 'text', text: tokens.join('') });

    if (body.stream !== true) {
      return sendJson(res, 200, { id, type: 'message', role: 'assistant', model: body.model, content, stop_reason: stopReason, stop_sequence: null, usage });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_018EeWyXxfu5pfWkrYcMdjWG' });
    const send = (event: string, data: object) => res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    send('message_start', { message: { id, type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
    let index = 0;
    if (thinking) {
      send('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: 'Let me think' } });
      send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: ' about the fox.' } });
      send('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } });
      send('content_block_stop', { index });
      index++;
    }
    send('ping', {});
    if (toolUse) {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: toolUse, input: {} } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '{"location": ' } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
      send('content_block_stop', { index });
    } else {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (let i = 0; i < tokens.length; i++) {
        if (options.failAfterDeltas !== undefined && i === options.failAfterDeltas) {
          send('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
          return void res.end();
        }
        send('content_block_delta', { index, delta: { type: 'text_delta', text: tokens[i] } });
      }
      send('content_block_stop', { index });
    }
    send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: tokens.length } });
    send('message_stop', {});
    res.end();
  }, options.port);
}

function textOf(content: Message['content']): string {
  if (typeof content === 'string') return content;
  return content.filter((block) => block.type === 'text').map((block) => block.text ?? '').join('');
}

function anthropicError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: 'error', error: { type, message }, request_id: 'req_011CSHoEeqs5C35K2UUqR7Fy' });
}
