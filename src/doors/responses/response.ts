import { randomBytes } from 'node:crypto';
import type { FinishReason, Usage } from '../../answer/types.js';
import type { ProxyError } from '../../errors.js';
import type { ResponsesRequest } from './schema.js';

/**
 * The pieces of an OpenAI Response object, as the whole answer and the stream both build them. Every
 * field OpenAI's schema requires is there (`annotations` and `logprobs` on text parts, `parallel_tool_calls`,
 * `metadata`, …); `usage` and `user` are left out rather than null, where the schema does not allow null.
 */

type Json = Record<string, unknown>;

/** An id in OpenAI's style (`resp_…`, `msg_…`, `rs_…`, `fc_…`). The proxy keeps none of them. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

export interface ResponseIdentity {
  id: string;
  created_at: number;
  model: string;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';
export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

/** The request's settings as a Response reports them. */
export function requestEcho(request: ResponsesRequest | undefined): Json {
  const body: ResponsesRequest = request ?? {};
  const echo: Json = {
    background: false,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: body.reasoning ? { effort: body.reasoning.effort ?? null, summary: body.reasoning.summary ?? null } : null,
    // Nothing is kept: the Response says so, whatever the request asked.
    store: false,
    temperature: body.temperature ?? null,
    text: { format: body.text?.format ?? { type: 'text' }, verbosity: body.text?.verbosity ?? 'medium' },
    tool_choice: body.tool_choice ?? 'auto',
    tools: (body.tools ?? []).map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description ?? null,
      parameters: tool.parameters ?? null,
      strict: tool.strict ?? null,
    })),
    top_p: body.top_p ?? null,
    truncation: 'disabled',
  };
  if (typeof body.user === 'string') echo.user = body.user;
  return echo;
}

/** How an answer's finish reads as a Response's status. */
export function outcomeOf(finish: FinishReason | null | undefined): { status: 'completed' | 'incomplete'; incomplete: Json | null } {
  if (finish === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finish === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

export interface ResponseParts {
  status: ResponseStatus;
  output: unknown[];
  usage?: Usage | undefined;
  incomplete?: Json | null;
  error?: ProxyError;
}

export function responseObject(identity: ResponseIdentity, echo: Json, parts: ResponseParts): Json {
  const response: Json = {
    id: identity.id,
    object: 'response',
    created_at: identity.created_at,
    status: parts.status,
    error: parts.error ? { code: parts.error.status === 429 ? 'rate_limit_exceeded' : 'server_error', message: parts.error.message } : null,
    incomplete_details: parts.incomplete ?? null,
    model: identity.model,
    output: parts.output,
    ...echo,
  };
  if (parts.status === 'completed') response.completed_at = Math.floor(Date.now() / 1000);
  if (parts.usage) response.usage = responseUsage(parts.usage);
  return response;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : 0;
}

/** The pipeline's usage (Chat Completions' names) in the Responses API's, every detail it requires there. */
export function responseUsage(usage: Usage): Json {
  const input = (usage.prompt_tokens_details ?? {}) as Json;
  const output = (usage.completion_tokens_details ?? {}) as Json;
  return {
    input_tokens: count(usage.prompt_tokens),
    input_tokens_details: { cached_tokens: count(input.cached_tokens), cache_write_tokens: count(input.cache_write_tokens ?? usage.cache_creation_input_tokens) },
    output_tokens: count(usage.completion_tokens),
    output_tokens_details: { reasoning_tokens: count(output.reasoning_tokens) },
    total_tokens: count(usage.total_tokens),
  };
}

export const textPart = (text: string): Json => ({ type: 'output_text', text, annotations: [], logprobs: [] });
export const refusalPart = (refusal: string): Json => ({ type: 'refusal', refusal });
export const reasoningTextPart = (text: string): Json => ({ type: 'reasoning_text', text });

export function messageItem(id: string, content: Json[], status: ItemStatus): Json {
  return { id, type: 'message', status, role: 'assistant', content };
}

/** Reasoning as the model wrote it (`content`), not a summary: open models' thinking is not summarised. */
export function reasoningItem(id: string, text: string | undefined, status: ItemStatus): Json {
  return { id, type: 'reasoning', summary: [], content: text === undefined ? [] : [reasoningTextPart(text)], status };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: ItemStatus): Json {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: args };
}
