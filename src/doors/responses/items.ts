import type { ZodType } from 'zod';
import { issuePath, type ChatMessage } from '../../chat/schema.js';
import { badRequest } from '../../errors.js';
import { FunctionCallItem, FunctionCallOutputItem, InputImagePart, InputTextPart, MessageItem, OutputTextPart, ReasoningItem, RefusalPart } from './schema.js';

/**
 * Responses input items as the request model's messages (OpenAI's Chat Completions list, which every
 * provider reads): `instructions` a system message; message items messages; function calls the
 * assistant's `tool_calls` (joining the assistant message before them, as one turn); their outputs tool
 * messages; a reasoning item the `reasoning_content` of the assistant message that follows it. The final
 * item decides the prefill: an assistant message (or a reasoning item) with `"status": "in_progress"` is
 * marked `prefix: true` (a prefill in every mode but off), with `"completed"` `prefix: false` (never
 * one), and without a status it is left bare (a prefill in mode auto).
 */

/** Something only an upstream that speaks the Responses API itself can take (support.ts decides). */
export interface NativeOnly {
  param: string;
  /** What it is, as the 400 names it. */
  what: string;
}

export interface Conversation {
  messages: ChatMessage[];
  /** Where each message came from in the Responses body (`input[3]`, `instructions`), for errors. */
  params: string[];
}

type Status = 'in_progress' | 'completed' | 'incomplete' | undefined;

/** Parses `value` with `schema`; a failure is a 400 naming the exact field below `at`. */
export function parseAt<T>(schema: ZodType<T>, value: unknown, at: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const below = issuePath(issue.path);
  const param = at && below ? (below.startsWith('[') ? `${at}${below}` : `${at}.${below}`) : at || below;
  throw badRequest(`Invalid request${param ? ` at ${param}` : ''}: ${issue.message}`, param || null, 'invalid_request_body');
}

export function toConversation(input: string | Array<Record<string, unknown>> | undefined, instructions: string | null | undefined, nativeOnly: NativeOnly[]): Conversation {
  const out: Conversation = { messages: [], params: [] };
  const push = (message: ChatMessage, param: string) => {
    out.messages.push(message);
    out.params.push(param);
    return message;
  };
  if (typeof instructions === 'string' && instructions.length > 0) push({ role: 'system', content: instructions }, 'instructions');
  if (typeof input === 'string') push({ role: 'user', content: input }, 'input');
  if (!Array.isArray(input)) return out;

  /** A reasoning item waiting for the assistant output it belongs to. */
  let reasoning: { text: string; param: string; status: Status } | undefined;
  /** The assistant turn function calls join (the message or calls just before them). */
  let turn: ChatMessage | undefined;
  /** The final assistant message and its item's status. */
  let last: { message: ChatMessage; status: Status } | undefined;
  const assistant = (message: ChatMessage, param: string): ChatMessage => {
    if (reasoning) message.reasoning_content = reasoning.text;
    reasoning = undefined;
    turn = push(message, param);
    return message;
  };

  for (let index = 0; index < input.length; index++) {
    const item = input[index]!;
    const param = `input[${index}]`;
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const message = parseAt(MessageItem, item, param);
        if (message.role === 'assistant') {
          last = { message: assistant({ role: 'assistant', content: assistantText(message.content, param, nativeOnly) }, param), status: message.status };
          continue;
        }
        // Reasoning not followed by the assistant's output (its turn ended in a tool call elsewhere) is history the upstream cannot use.
        reasoning = turn = undefined;
        push({ role: message.role, content: inputContent(message.content, param, nativeOnly) }, param);
        continue;
      }
      case 'function_call': {
        const call = parseAt(FunctionCallItem, item, param);
        const toolCall = { id: call.call_id, type: 'function', function: { name: call.name, arguments: call.arguments } };
        if (turn && !reasoning) turn.tool_calls = [...(turn.tool_calls ?? []), toolCall];
        else assistant({ role: 'assistant', content: null, tool_calls: [toolCall] }, param);
        continue;
      }
      case 'function_call_output': {
        const output = parseAt(FunctionCallOutputItem, item, param);
        reasoning = turn = undefined;
        const content = typeof output.output === 'string' ? output.output : partsText(output.output, `${param}.output`, nativeOnly);
        push({ role: 'tool', tool_call_id: output.call_id, content }, param);
        continue;
      }
      case 'reasoning': {
        const thought = parseAt(ReasoningItem, item, param);
        if (thought.encrypted_content) nativeOnly.push({ param: `${param}.encrypted_content`, what: 'encrypted reasoning (only OpenAI can read it)' });
        const text = thought.content?.length ? thought.content.map((part) => part.text).join('') : (thought.summary ?? []).map((part) => part.text).join('\n\n');
        reasoning = { text, param, status: thought.status };
        turn = undefined;
        continue;
      }
      default:
        reasoning = turn = undefined;
        nativeOnly.push({ param: `${param}.type`, what: `input items of type "${String(type)}"` });
    }
  }
  // A final reasoning item: the model's thinking so far, to be continued (a reasoning prefill).
  if (reasoning) {
    const { param, status } = reasoning;
    last = { message: assistant({ role: 'assistant', content: '' }, param), status };
  }
  // (A final message with tool calls is never a prefill: it gets no flag.)
  if (last && out.messages[out.messages.length - 1] === last.message && !last.message.tool_calls) {
    if (last.status === 'in_progress') last.message.prefix = true;
    else if (last.status === 'completed') last.message.prefix = false;
  }
  return out;
}

/** An assistant message's text: its output_text (and input_text) parts joined, refusals as text. */
function assistantText(content: string | Array<{ type: string }>, param: string, nativeOnly: NativeOnly[]): string {
  if (typeof content === 'string') return content;
  let text = '';
  content.forEach((part, index) => {
    const at = `${param}.content[${index}]`;
    if (part.type === 'output_text') text += parseAt(OutputTextPart, part, at).text;
    else if (part.type === 'input_text') text += parseAt(InputTextPart, part, at).text;
    else if (part.type === 'refusal') text += parseAt(RefusalPart, part, at).refusal;
    else nativeOnly.push({ param: `${at}.type`, what: `assistant content parts of type "${part.type}"` });
  });
  return text;
}

/** A user, system or developer message's content: one text as a string, else Chat Completions parts. */
function inputContent(content: string | Array<{ type: string }>, param: string, nativeOnly: NativeOnly[]): ChatMessage['content'] {
  if (typeof content === 'string') return content;
  const parts: Array<{ type: string; [key: string]: unknown }> = [];
  content.forEach((part, index) => {
    const at = `${param}.content[${index}]`;
    if (part.type === 'input_text' || part.type === 'output_text') {
      const text = part.type === 'input_text' ? parseAt(InputTextPart, part, at).text : parseAt(OutputTextPart, part, at).text;
      parts.push({ type: 'text', text });
      return;
    }
    if (part.type === 'input_image') {
      const image = parseAt(InputImagePart, part, at);
      if (typeof image.image_url === 'string') {
        parts.push({ type: 'image_url', image_url: image.detail ? { url: image.image_url, detail: image.detail } : { url: image.image_url } });
        return;
      }
      nativeOnly.push({ param: `${at}.file_id`, what: 'images given by file_id (the proxy keeps no files)' });
      return;
    }
    nativeOnly.push({ param: `${at}.type`, what: `content parts of type "${part.type}"` });
  });
  if (parts.length === 1 && parts[0]!.type === 'text') return parts[0]!.text as string;
  return parts;
}

/** A function call's output given as parts: their texts joined (other parts cannot be a tool message). */
function partsText(parts: Array<{ type: string }>, param: string, nativeOnly: NativeOnly[]): string {
  let text = '';
  parts.forEach((part, index) => {
    const at = `${param}[${index}]`;
    if (part.type === 'input_text') text += parseAt(InputTextPart, part, at).text;
    else nativeOnly.push({ param: `${at}.type`, what: `function call outputs with parts of type "${part.type}"` });
  });
  return text;
}
