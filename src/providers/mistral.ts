import type { ChatMessage, ChatRequest } from '../chat/schema.js';
import { contentText } from '../chat/content.js';
import { renderPartialTurn } from '../prefill/render.js';
import type { JsonBody, Provider } from './types.js';
import { OPENAI_STYLE } from './openai-chat/request.js';

/**
 * Mistral: `prefix: true` on the last assistant message. Its answer repeats the prefix (its docs slice
 * `content[len(prefix):]`), so the proxy strips it, also when it arrives split over stream deltas.
 * Mistral rejects fields it does not know and null values, so every request is rebuilt from the fields
 * its API documents (OpenAI's `seed` and `max_completion_tokens` renamed), never forwarded as is.
 * A trailing assistant message without `prefix` is its 400 `invalid_request_message_order` (3230).
 */
const REQUEST_FIELDS = new Set([
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'stream',
  'stop',
  'random_seed',
  'response_format',
  'tools',
  'tool_choice',
  'presence_penalty',
  'frequency_penalty',
  'n',
  'prediction',
  'parallel_tool_calls',
  'safe_prompt',
  'prompt_mode',
]);

const RENAMED: Readonly<Record<string, string>> = { seed: 'random_seed', max_completion_tokens: 'max_tokens' };

const MESSAGE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  system: ['role', 'content'],
  user: ['role', 'content'],
  assistant: ['role', 'content', 'tool_calls', 'prefix'],
  tool: ['role', 'content', 'tool_call_id', 'name'],
};

export function toMistralRequest(request: ChatRequest, prefillIndex?: number): JsonBody {
  const body: JsonBody = {};
  for (const [key, value] of Object.entries(request)) {
    if (value === null || value === undefined) continue;
    const name = RENAMED[key] ?? key;
    if (!REQUEST_FIELDS.has(name) || (name in body && key !== name)) continue;
    body[name] = value;
  }
  body.messages = request.messages.map((message, index) => toMistralMessage(message, index === prefillIndex));
  return body;
}

function toMistralMessage(message: ChatMessage, isPrefill: boolean): JsonBody {
  const role = message.role === 'developer' ? 'system' : message.role === 'function' ? 'tool' : message.role;
  const out: JsonBody = { role };
  for (const field of MESSAGE_FIELDS[role] ?? ['role', 'content']) {
    if (field === 'role' || field === 'prefix') continue;
    const value = (message as Record<string, unknown>)[field];
    if (value !== null && value !== undefined) out[field] = value;
  }
  if (isPrefill) {
    out.content = contentText(message.content, 0);
    out.prefix = true;
  }
  if (out.content === undefined && role !== 'assistant') out.content = '';
  return out;
}

export const mistral: Provider = {
  ...OPENAI_STYLE,
  id: 'mistral',
  noNewTurnAfterAssistant: true,
  nativeForm: 'prefix=true on the last assistant message (the prefix is repeated in the answer)',
  forwardRequest: (request) => ({ body: toMistralRequest(request) }),
  prefillRequest(request, prefill, options) {
    // Mistral has no field for a reasoning prefix: it is rendered in thinking tags in the content.
    const turn = renderPartialTurn(prefill, { reasoning: 'tags', thinkTags: options.thinkTags });
    const messages = request.messages.slice(0, prefill.index + 1);
    messages[prefill.index] = { role: 'assistant', content: turn.content };
    return { body: toMistralRequest({ ...request, messages }, prefill.index), repeated: turn.content, thinkingInContent: turn.thinkingInContent };
  },
};
