import { badRequest } from '../errors.js';
import type { ChatMessage } from './schema.js';

/**
 * A prefilled message's text: a string as is, an array of text parts joined with nothing between
 * them (upstreams join parts differently — llama.cpp puts a blank line between them — so the proxy
 * always sends one string).
 */
export function contentText(content: ChatMessage['content'], index: number): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (let i = 0; i < content.length; i++) {
    const part = content[i]!;
    if (part.type !== 'text' || typeof part.text !== 'string') {
      throw badRequest('A prefilled assistant message may only contain text parts.', `messages[${index}].content[${i}]`, 'invalid_prefill_content');
    }
    text += part.text;
  }
  return text;
}

/** The text parts of any content, joined; other parts ignored. */
export function plainText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as Array<{ type?: unknown; text?: unknown }>) {
    if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  return text;
}

/**
 * The text of a system, developer, assistant or tool message for upstreams whose non-user turns take
 * text only (Anthropic, Bedrock, Gemini): a string as is, text parts joined; any other part is a 400
 * naming it.
 */
export function textOnlyContent(content: ChatMessage['content'], index: number): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part, partIndex) => {
      if (part.type === 'text') return String(part.text ?? '');
      throw badRequest(`Content parts of type "${part.type}" are only accepted in user messages.`, `messages[${index}].content[${partIndex}]`);
    })
    .join('');
}
