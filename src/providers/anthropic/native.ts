import type { AnswerPlan } from '../../prefill/answer-plan.js';
import type { Prefill } from '../../prefill/detect.js';
import type { JsonBody, UpstreamCall, WireFormat } from '../types.js';

/**
 * A Messages request (the Messages door) for Anthropic, sent as it came: `cache_control`, thinking
 * signatures, documents, citations and server tools all reach Anthropic, which the request model
 * could not carry. Only the proxy's own `echo` is taken out and, for a prefill, the final assistant
 * turn's trailing whitespace (Anthropic answers 400 to it): what was removed is stripped from the
 * front of the answer when the model writes it again, so it is never doubled.
 */
export const MESSAGES_PATH = '/v1/messages';

export function messagesNativeCall(wire: WireFormat, body: JsonBody, prefill: Prefill | undefined): UpstreamCall | undefined {
  if (wire !== 'anthropic-messages') return undefined;
  const sent: JsonBody = { ...body };
  const echo = sent.echo === true;
  delete sent.echo;
  if (!prefill) return { path: MESSAGES_PATH, body: sent, answer: { kind: 'none', prefix: '', echo: false } };
  const messages = Array.isArray(sent.messages) ? (sent.messages as JsonBody[]) : [];
  const trimmed = trimFinalTurn(messages[messages.length - 1]);
  sent.messages = trimmed.message ? [...messages.slice(0, -1), trimmed.message] : messages.slice(0, -1);
  const answer: AnswerPlan = {
    kind: 'native',
    prefix: prefill.prefix,
    reasoningPrefix: prefill.reasoning,
    echo,
    repeated: trimmed.removed.length > 0 ? { text: trimmed.removed, skipLeadingWhitespace: false } : undefined,
  };
  return { path: MESSAGES_PATH, body: sent, answer };
}

/**
 * The final assistant turn without its trailing whitespace (string content, or its last text blocks);
 * no message at all when nothing is left of it. `removed`: the whitespace taken off, in order.
 */
export function trimFinalTurn(message: JsonBody | undefined): { message: JsonBody | undefined; removed: string } {
  if (!message) return { message, removed: '' };
  const content = message.content;
  if (typeof content === 'string') {
    const text = content.trimEnd();
    return { message: text.length > 0 ? { ...message, content: text } : undefined, removed: content.slice(text.length) };
  }
  if (!Array.isArray(content)) return { message, removed: '' };
  const blocks = [...(content as JsonBody[])];
  let removed = '';
  for (;;) {
    const last = blocks[blocks.length - 1];
    if (!last || last.type !== 'text' || typeof last.text !== 'string') break;
    const text = last.text.trimEnd();
    removed = last.text.slice(text.length) + removed;
    if (text.length > 0) {
      blocks[blocks.length - 1] = { ...last, text };
      break;
    }
    // A text block of whitespace only: gone, and the one before it is looked at too.
    blocks.pop();
  }
  return { message: blocks.length > 0 ? { ...message, content: blocks } : undefined, removed };
}
