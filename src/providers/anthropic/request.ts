import { textOnlyContent } from '../../chat/content.js';
import type { ChatMessage, ChatRequest } from '../../chat/schema.js';
import { badRequest } from '../../errors.js';
import type { JsonBody } from '../types.js';

/**
 * OpenAI Chat Completions request → Anthropic Messages request.
 * https://docs.anthropic.com/en/api/messages
 */

/** Anthropic requires max_tokens; OpenAI does not. Used when the client gives neither limit. */
export const DEFAULT_MAX_TOKENS = 4096;

/** OpenAI's reasoning_effort as an extended-thinking budget. */
const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 2048, medium: 8192, high: 16384 };

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface AnthropicPrefill {
  /** The partial assistant text, already without trailing whitespace. */
  text: string;
}

export function toAnthropicRequest(request: ChatRequest, prefill?: AnthropicPrefill): JsonBody {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], content: Block[]) => {
    if (content.length === 0) return;
    const previous = messages[messages.length - 1];
    // Anthropic expects turns to alternate: consecutive same-role messages become one turn.
    if (previous && previous.role === role) previous.content.push(...content);
    else messages.push({ role, content });
  };

  const history = prefill ? request.messages.slice(0, -1) : request.messages;
  history.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOnlyContent(message.content, index));
        return;
      case 'user':
        push('user', userBlocks(message, index));
        return;
      case 'assistant':
        push('assistant', assistantBlocks(message, index));
        return;
      case 'tool':
      case 'function':
        push('user', [
          {
            type: 'tool_result',
            tool_use_id: String(message.tool_call_id ?? message.name ?? ''),
            content: textOnlyContent(message.content, index),
          },
        ]);
        return;
      default: {
        const unexpected: never = message.role;
        throw badRequest(`Unsupported role ${String(unexpected)}.`, `messages[${index}].role`);
      }
    }
  });
  if (prefill && prefill.text.length > 0) push('assistant', [{ type: 'text', text: prefill.text }]);

  const body: JsonBody = {
    model: request.model,
    max_tokens: numberField(request.max_completion_tokens) ?? numberField(request.max_tokens) ?? DEFAULT_MAX_TOKENS,
    messages,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  if (request.stream === true) body.stream = true;
  for (const field of ['temperature', 'top_p', 'top_k'] as const) {
    const value = numberField(request[field]);
    if (value !== undefined) body[field] = value;
  }
  const stop = request.stop;
  if (typeof stop === 'string') body.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) body.stop_sequences = stop;
  if (typeof request.user === 'string') body.metadata = { user_id: request.user };
  const thinking = thinkingOf(request);
  if (thinking) body.thinking = thinking;
  if (Array.isArray(request.tools) && request.tools.length > 0) body.tools = request.tools.map(toAnthropicTool);
  const toolChoice = toAnthropicToolChoice(request.tool_choice, request.parallel_tool_calls);
  if (toolChoice) body.tool_choice = toolChoice;
  if (typeof request.n === 'number' && request.n > 1) throw badRequest('Anthropic returns one choice per request: n must be 1.', 'n');
  return body;
}

/** Anthropic's smallest extended-thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

/**
 * The extended-thinking setting of a request: the proxy's `reasoning_budget_tokens` (Anthropic bounds
 * thinking itself; its minimum budget is 1024), Anthropic's own `thinking`, or OpenAI's
 * `reasoning_effort`.
 */
export function thinkingOf(request: ChatRequest): JsonBody | undefined {
  const budget = request.reasoning_budget_tokens;
  if (typeof budget === 'number') return budget === 0 ? undefined : { type: 'enabled', budget_tokens: Math.max(MIN_THINKING_BUDGET, budget) };
  const thinking = request.thinking as { type?: unknown } | undefined | null;
  if (thinking && typeof thinking === 'object' && thinking.type !== 'disabled') return thinking as JsonBody;
  const effort = request.reasoning_effort;
  if (typeof effort === 'string' && THINKING_BUDGETS[effort] !== undefined) {
    return { type: 'enabled', budget_tokens: THINKING_BUDGETS[effort] };
  }
  return undefined;
}

function userBlocks(message: ChatMessage, index: number): Block[] {
  const content = message.content;
  if (typeof content === 'string') return content.length > 0 ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content.map((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    if (part.type === 'text') return { type: 'text', text: String(part.text ?? '') };
    if (part.type === 'image_url') return imageBlock(part.image_url, param);
    throw badRequest(`Content parts of type "${part.type}" cannot be sent to Anthropic.`, param);
  });
}

function imageBlock(imageUrl: unknown, param: string): Block {
  const url = typeof imageUrl === 'string' ? imageUrl : (imageUrl as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw badRequest('An image_url part needs a url.', param);
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } };
  if (/^https?:\/\//.test(url)) return { type: 'image', source: { type: 'url', url } };
  throw badRequest('An image URL must be an http(s) URL or a base64 data URL.', param);
}

function assistantBlocks(message: ChatMessage, index: number): Block[] {
  const blocks: Block[] = [];
  const text = textOnlyContent(message.content, index);
  if (text.length > 0) blocks.push({ type: 'text', text });
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  toolCalls.forEach((call, callIndex) => {
    const fn = (call as { id?: unknown; function?: { name?: unknown; arguments?: unknown } }).function;
    let input: unknown = {};
    if (typeof fn?.arguments === 'string' && fn.arguments.trim().length > 0) {
      try {
        input = JSON.parse(fn.arguments);
      } catch {
        throw badRequest('Tool call arguments must be a JSON string.', `messages[${index}].tool_calls[${callIndex}].function.arguments`);
      }
    }
    blocks.push({ type: 'tool_use', id: String((call as { id?: unknown }).id ?? ''), name: String(fn?.name ?? ''), input });
  });
  return blocks;
}

function toAnthropicTool(tool: unknown, index: number): Block {
  const fn = (tool as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } }).function;
  if ((tool as { type?: unknown }).type !== 'function' || !fn) throw badRequest('Only function tools can be sent to Anthropic.', `tools[${index}]`);
  const out: Block = { name: fn.name, input_schema: fn.parameters ?? { type: 'object', properties: {} } };
  if (typeof fn.description === 'string') out.description = fn.description;
  return out;
}

function toAnthropicToolChoice(choice: unknown, parallel: unknown): Block | undefined {
  let out: Block | undefined;
  if (choice === 'auto') out = { type: 'auto' };
  else if (choice === 'required') out = { type: 'any' };
  else if (choice === 'none') out = { type: 'none' };
  else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string') out = { type: 'tool', name };
  }
  if (parallel === false) out = { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
