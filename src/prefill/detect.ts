import { contentText } from '../chat/content.js';
import type { ChatMessage, ChatRequest } from '../chat/schema.js';
import { badRequest } from '../errors.js';

export const PREFILL_MODES = ['auto', 'explicit', 'off'] as const;
export type PrefillMode = (typeof PREFILL_MODES)[number];

export function parsePrefillMode(value: string, param: string): PrefillMode {
  const normalized = value.trim().toLowerCase();
  if ((PREFILL_MODES as readonly string[]).includes(normalized)) return normalized as PrefillMode;
  throw badRequest(`Invalid prefill mode "${value}": use one of ${PREFILL_MODES.join(', ')}.`, param, 'invalid_prefill_mode');
}

/** What the client asked to be continued. */
export interface Prefill {
  /** The partial assistant text, content parts joined. */
  prefix: string;
  /** Chain-of-thought prefix (DeepSeek's `reasoning_content` convention), when present. */
  reasoning: string | undefined;
  /**
   * What the model continues: its thinking (a reasoning prefix and no content yet), or its answer
   * (content, after any thinking, which is then complete).
   */
  continues: 'reasoning' | 'content';
  /** Index of the prefilled message in `messages` (always the last one). */
  index: number;
  /**
   * Why it is a prefill: an explicit flag, the `auto` reading of a bare trailing assistant message, or
   * the proxy's own continuation after closing the thinking at the budget.
   */
  trigger: 'prefix' | 'partial' | 'continue_final_message' | 'trailing_assistant' | 'thinking_budget' | 'continuation' | 'resume';
}

/**
 * Applies the table of DESIGN.md §1 to the last message. Returns undefined when the request is not
 * a prefill, in which case it is forwarded as the client sent it.
 */
export function detectPrefill(request: ChatRequest, mode: PrefillMode): Prefill | undefined {
  if (mode === 'off') return undefined;
  const index = request.messages.length - 1;
  const last = request.messages[index];
  if (!last || last.role !== 'assistant') return undefined;
  if (Array.isArray(last.tool_calls) && last.tool_calls.length > 0) return undefined;

  const trigger = triggerOf(request, last, mode);
  if (!trigger) return undefined;

  const prefix = contentText(last.content, index);
  const reasoning = typeof last.reasoning_content === 'string' && last.reasoning_content.length > 0 ? last.reasoning_content : undefined;
  if (prefix.length === 0 && reasoning === undefined) return undefined;
  return { prefix, reasoning, continues: reasoning !== undefined && prefix.length === 0 ? 'reasoning' : 'content', index, trigger };
}

function triggerOf(request: ChatRequest, last: ChatMessage, mode: PrefillMode): Prefill['trigger'] | undefined {
  // An explicit "no" on the message wins over everything, including continue_final_message.
  if (last.prefix === false || last.partial === false) return undefined;
  if (last.prefix === true) return 'prefix';
  if (last.partial === true) return 'partial';
  if (request.continue_final_message === true) return 'continue_final_message';
  return mode === 'auto' ? 'trailing_assistant' : undefined;
}
