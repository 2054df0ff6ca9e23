import { randomUUID } from 'node:crypto';
import type { Answer, AnswerChoice, FinishReason, Usage } from '../../answer/types.js';

/**
 * The pipeline's answer as Anthropic's Message object
 * (https://docs.anthropic.com/en/api/messages#response): thinking blocks (with their signatures when
 * the upstream gave them), one text block holding the continuation only, tool_use blocks; the stop
 * reason and usage in Anthropic's names. The fields the SDK's `Message` type requires are all there
 * (null where the proxy has nothing to say).
 */

/** A finish reason as Anthropic's stop reason. */
export function stopReason(reason: FinishReason | string | null | undefined): string {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/** `msg_…`, derived from the upstream's id (an Anthropic id is kept as it is). */
export function messageId(id: string): string {
  if (id.startsWith('msg_')) return id;
  const rest = id.replace(/^chatcmpl-/, '');
  return `msg_${rest.length > 0 ? rest : randomUUID().replace(/-/g, '')}`;
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * Usage in Anthropic's terms: `input_tokens` counts only what was neither read from nor written to the
 * cache (Anthropic's three input counters add up to the prompt).
 */
export function anthropicUsage(usage: Usage | undefined): AnthropicUsage {
  const prompt = count(usage?.prompt_tokens) ?? 0;
  const details = usage?.prompt_tokens_details as { cached_tokens?: unknown } | undefined;
  const read = count(usage?.cache_read_input_tokens) ?? count(details?.cached_tokens) ?? 0;
  const creation = count(usage?.cache_creation_input_tokens) ?? 0;
  return {
    input_tokens: Math.max(0, prompt - read - creation),
    output_tokens: count(usage?.completion_tokens) ?? 0,
    cache_creation_input_tokens: creation,
    cache_read_input_tokens: read,
  };
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The usage object of a Message, with the fields the SDK's `Usage` type has. */
export function messageUsage(usage: Usage | undefined): Record<string, unknown> {
  return {
    ...anthropicUsage(usage),
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: null,
    speed: null,
  };
}

type Block = Record<string, unknown>;

/** The thinking blocks of a choice: the upstream's own (signatures kept) while they still say what the answer says. */
export function thinkingBlocks(choice: Pick<AnswerChoice, 'reasoning' | 'messageExtra'>): Block[] {
  const given = choice.messageExtra?.thinking_blocks;
  if (Array.isArray(given) && given.length > 0) {
    const blocks = given as Block[];
    const text = blocks.map((block) => (block.type === 'thinking' ? String(block.thinking ?? '') : '')).join('');
    if (text === (choice.reasoning ?? '')) return blocks.map(thinkingBlock);
  }
  // Reasoning the proxy changed (echoed, split from tags) or that came without blocks: no signature.
  return choice.reasoning ? [{ type: 'thinking', thinking: choice.reasoning, signature: '' }] : [];
}

function thinkingBlock(block: Block): Block {
  if (block.type === 'redacted_thinking') return { type: 'redacted_thinking', data: String(block.data ?? '') };
  return { type: 'thinking', thinking: String(block.thinking ?? ''), signature: String(block.signature ?? '') };
}

/** A tool call's arguments as the `input` object of a tool_use block. */
export function toolInput(args: string | undefined): unknown {
  if (!args || args.trim().length === 0) return {};
  try {
    const input: unknown = JSON.parse(args);
    return input !== null && typeof input === 'object' && !Array.isArray(input) ? input : { value: input };
  } catch {
    // A model's malformed arguments still reach the client, whole.
    return { arguments: args };
  }
}

export function encodeMessage(answer: Answer, model: string | undefined): string {
  const choice: AnswerChoice = answer.choices[0] ?? { index: 0, content: '', finishReason: 'stop' };
  const content: Block[] = thinkingBlocks(choice);
  const text = choice.content ?? (choice.refusal ? choice.refusal : '');
  const toolCalls = choice.toolCalls ?? [];
  if (text.length > 0 || toolCalls.length === 0) content.push({ type: 'text', text, citations: null });
  for (const call of toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: toolInput(call.function.arguments), caller: { type: 'direct' } });
  }
  const reason = choice.refusal && !choice.content ? 'refusal' : stopReason(choice.finishReason);
  return JSON.stringify({
    id: messageId(answer.id),
    type: 'message',
    role: 'assistant',
    model: answer.model || model || '',
    content,
    stop_reason: reason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    diagnostics: null,
    usage: messageUsage(answer.usage),
  });
}
