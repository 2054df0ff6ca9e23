import type { IncomingHttpHeaders } from 'node:http';
import type { ChatRequest } from '../../chat/schema.js';
import type { JsonBody } from '../../providers/types.js';
import type { PipelineRequest } from '../../pipeline/types.js';
import { parseAt, toConversation, type NativeOnly } from './items.js';
import { FunctionTool, ResponsesRequest } from './schema.js';

/**
 * A Responses request as the pipeline's: the conversation in the request model (an OpenAI Chat
 * Completions request, which every provider reads), the client's options, and the body itself (`native`)
 * for an upstream that takes the Responses API as it is. What the request model cannot carry (state,
 * hosted tools, files) is collected, not refused: support.ts refuses it once the upstream is known.
 */
export interface ResponsesPipelineRequest {
  request: PipelineRequest;
  body: ResponsesRequest;
  nativeOnly: NativeOnly[];
  /** Where each message of the request model came from in the Responses body, for errors. */
  params: string[];
}

/** The Responses API's own fields: translated below, never passed on as they are. */
const RESPONSES_FIELDS = new Set([
  'background', 'context_management', 'conversation', 'include', 'input', 'instructions', 'max_output_tokens', 'max_tool_calls',
  'metadata', 'model', 'moderation', 'parallel_tool_calls', 'previous_response_id', 'prompt', 'prompt_cache_key',
  'prompt_cache_options', 'prompt_cache_retention', 'reasoning', 'safety_identifier', 'service_tier', 'store', 'stream',
  'stream_options', 'temperature', 'text', 'tool_choice', 'tools', 'top_logprobs', 'top_p', 'truncation', 'user',
  'echo', 'reasoning_budget_tokens',
]);

export function toResponsesPipelineRequest(raw: unknown, headers: IncomingHttpHeaders): ResponsesPipelineRequest {
  const body = parseAt(ResponsesRequest, raw, '');
  const nativeOnly: NativeOnly[] = [];
  const { messages, params } = toConversation(body.input, body.instructions, nativeOnly);
  const chat: ChatRequest = { messages };
  // Fields the Responses API does not have go on as extensions (`top_k`, `seed`, `max_continuations`, …).
  for (const key in body) if (!RESPONSES_FIELDS.has(key)) chat[key] = body[key];
  if (body.model !== undefined) chat.model = body.model;
  const stream = body.stream === true;
  // A Response always reports its usage, streamed too.
  if (stream) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });
  copy(chat, 'max_tokens', body.max_output_tokens);
  copy(chat, 'temperature', body.temperature);
  copy(chat, 'top_p', body.top_p);
  copy(chat, 'parallel_tool_calls', body.parallel_tool_calls);
  copy(chat, 'reasoning_effort', body.reasoning?.effort);
  // `medium` is every model's default: sent only when it asks for something else (support.ts checks who takes it).
  copy(chat, 'verbosity', body.text?.verbosity === 'medium' ? undefined : body.text?.verbosity);
  copy(chat, 'echo', body.echo);
  copy(chat, 'reasoning_budget_tokens', body.reasoning_budget_tokens);
  tools(chat, body, nativeOnly);
  responseFormat(chat, body);
  stateless(body, nativeOnly);
  if (messages.length === 0) nativeOnly.push({ param: 'input', what: 'a request without input (the proxy keeps no conversations)' });
  return {
    request: {
      door: 'responses',
      chat,
      // The client's bytes are not the request model's: nothing goes upstream as they are but `native`.
      raw: undefined,
      headers,
      options: { stream, echo: body.echo === true, includeUsage: true, thinkingBudget: body.reasoning_budget_tokens ?? undefined },
      native: { wire: 'openai-responses', body: body as JsonBody },
    },
    body,
    nativeOnly,
    params,
  };
}

function copy(chat: ChatRequest, field: string, value: unknown): void {
  if (value !== undefined && value !== null) chat[field] = value;
}

/** Function tools in Chat Completions' form; hosted tools (web search, files, …) only OpenAI runs. */
function tools(chat: ChatRequest, body: ResponsesRequest, nativeOnly: NativeOnly[]): void {
  if (body.tools && body.tools.length > 0) {
    chat.tools = body.tools.flatMap((tool, index) => {
      if (tool.type !== 'function') {
        nativeOnly.push({ param: `tools[${index}].type`, what: `tools of type "${tool.type}"` });
        return [];
      }
      const { name, description, parameters, strict } = parseAt(FunctionTool, tool, `tools[${index}]`);
      const fn: Record<string, unknown> = { name };
      if (description !== undefined && description !== null) fn.description = description;
      if (parameters !== undefined && parameters !== null) fn.parameters = parameters;
      if (strict !== undefined && strict !== null) fn.strict = strict;
      return [{ type: 'function', function: fn }];
    });
  }
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return;
  if (typeof choice === 'string') chat.tool_choice = choice;
  else if (choice.type === 'function' && typeof choice.name === 'string') chat.tool_choice = { type: 'function', function: { name: choice.name } };
  else nativeOnly.push({ param: 'tool_choice', what: `tool_choice of type "${choice.type}"` });
}

/** `text.format` as Chat Completions' `response_format`. */
function responseFormat(chat: ChatRequest, body: ResponsesRequest): void {
  const format = body.text?.format;
  if (!format || format.type === 'text') return;
  if (format.type === 'json_object') {
    chat.response_format = { type: 'json_object' };
    return;
  }
  const schema: Record<string, unknown> = { name: format.name, schema: format.schema };
  if (format.description !== undefined) schema.description = format.description;
  if (format.strict !== undefined && format.strict !== null) schema.strict = format.strict;
  chat.response_format = { type: 'json_schema', json_schema: schema };
}

/**
 * The proxy keeps no state (responses, conversations, files, stored prompts) and runs no tools: fields
 * that need them are refused unless the request goes to OpenAI as it came. Their values that change
 * nothing (`store: false`, `include: []`, `truncation: "disabled"`, …) are accepted everywhere.
 */
function stateless(body: ResponsesRequest, nativeOnly: NativeOnly[]): void {
  const set = (value: unknown) => value !== undefined && value !== null;
  if (body.store === true) nativeOnly.push({ param: 'store', what: '"store": true (the proxy keeps no responses)' });
  if (set(body.previous_response_id)) nativeOnly.push({ param: 'previous_response_id', what: 'previous_response_id (the proxy keeps no responses)' });
  if (set(body.conversation)) nativeOnly.push({ param: 'conversation', what: 'conversation (the proxy keeps no conversations)' });
  if (set(body.prompt)) nativeOnly.push({ param: 'prompt', what: 'stored prompts (prompt)' });
  // Encrypted reasoning is asked for by Codex-style clients on every request; without stored state the
  // proxy simply has none to give (its reasoning items carry plain text), which changes nothing.
  const include = (body.include ?? []).filter((value) => value !== 'reasoning.encrypted_content');
  if (include.length > 0) nativeOnly.push({ param: 'include', what: `include ${JSON.stringify(include)}` });
  if (body.background === true) nativeOnly.push({ param: 'background', what: '"background": true' });
  if (body.truncation === 'auto') nativeOnly.push({ param: 'truncation', what: '"truncation": "auto"' });
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) nativeOnly.push({ param: 'top_logprobs', what: 'top_logprobs' });
  if (set(body.context_management)) nativeOnly.push({ param: 'context_management', what: 'context_management' });
}
