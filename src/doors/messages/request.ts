import type { ChatMessage, ChatRequest, ContentPart } from '../../chat/schema.js';
import type { BlockParam, CountTokensBody, MessagesBody } from './schema.js';

/**
 * A Messages request in the request model (OpenAI's message list, which every provider reads):
 * `system` → a system message; user blocks → content parts (images as data or http URLs), their
 * `tool_result` blocks → `tool` messages in front (where OpenAI puts them); assistant blocks → text,
 * `tool_use` → `tool_calls`. A final assistant turn always means "continue this" in the Messages API:
 * it is marked `prefix: true` (a prefill in modes auto and explicit), its thinking blocks become
 * `reasoning_content` (a reasoning prefill). Thinking in earlier turns is dropped, as Anthropic drops
 * it itself (and DeepSeek refuses it). `cache_control` is dropped: it only means something to
 * Anthropic, and so are Anthropic's server tools (only its servers run them). What the request
 * model cannot carry (documents, citations, ...) is reported in `uncarried`: a request that goes to
 * Anthropic as it came keeps it, any other is a 400.
 */

export interface Uncarried {
  /** The field, as Anthropic names one (`messages.0.content.1`). */
  param: string;
  what: string;
}

export interface Converted {
  chat: ChatRequest;
  /** The first thing the request model leaves out, if any. */
  uncarried: Uncarried | undefined;
}

type Tool = NonNullable<MessagesBody['tools']>[number];

class Conversion {
  uncarried: Uncarried | undefined;
  readonly messages: ChatMessage[] = [];

  leaveOut(param: string, what: string): void {
    this.uncarried ??= { param, what };
  }
}

export interface ConversionOptions {
  /** Mark a final assistant turn as a prefill (every mode but off). */
  prefill: boolean;
  /** The upstream takes `top_k`. */
  topK: boolean;
  /**
   * The upstream bounds thinking itself (Anthropic): it gets the client's `thinking` as it is, whatever
   * call it takes (the fallback too), rather than the proxy's thinking budget.
   */
  nativeThinking: boolean;
}

export function toChatRequest(body: MessagesBody | CountTokensBody, options: ConversionOptions): Converted {
  const conversion = new Conversion();
  const system = systemText(body.system);
  if (system.length > 0) conversion.messages.push({ role: 'system', content: system });
  body.messages.forEach((message, index) => {
    const final = index === body.messages.length - 1;
    if (message.role === 'user') userTurn(conversion, message.content, index);
    else assistantTurn(conversion, message.content, index, final, final && options.prefill);
  });
  const chat: ChatRequest = { model: body.model, messages: conversion.messages };
  settings(conversion, body as MessagesBody, chat, options);
  return { chat, uncarried: conversion.uncarried };
}

function systemText(system: MessagesBody['system']): string {
  if (system === undefined) return '';
  if (typeof system === 'string') return system;
  return system.map((block) => block.text).join('\n\n');
}

function userTurn(conversion: Conversion, content: string | BlockParam[], index: number): void {
  if (typeof content === 'string') {
    conversion.messages.push({ role: 'user', content });
    return;
  }
  const parts: ContentPart[] = [];
  content.forEach((block, blockIndex) => {
    const param = `messages.${index}.content.${blockIndex}`;
    switch (block.type) {
      case 'text':
        if (hasCitations(block)) conversion.leaveOut(`${param}.citations`, 'citations');
        parts.push({ type: 'text', text: String(block.text ?? '') });
        return;
      case 'image': {
        const url = imageUrl(block);
        if (url === undefined) return conversion.leaveOut(`${param}.source`, 'an image that is not base64 data or an http(s) URL');
        parts.push({ type: 'image_url', image_url: { url } });
        return;
      }
      case 'tool_result':
        // OpenAI puts a tool's result right after the assistant's call, before the user's own words.
        conversion.messages.push({ role: 'tool', tool_call_id: String(block.tool_use_id ?? ''), content: toolResultText(conversion, block, param) });
        return;
      default:
        return conversion.leaveOut(param, `a "${block.type}" block`);
    }
  });
  if (parts.length === 0) return;
  const only = parts.length === 1 ? parts[0]! : undefined;
  conversion.messages.push({ role: 'user', content: only?.type === 'text' ? String(only.text) : parts });
}

function assistantTurn(conversion: Conversion, content: string | BlockParam[], index: number, final: boolean, prefill: boolean): void {
  let text = '';
  let reasoning = '';
  const toolCalls: unknown[] = [];
  const blocks = typeof content === 'string' ? [{ type: 'text', text: content } as BlockParam] : content;
  blocks.forEach((block, blockIndex) => {
    const param = `messages.${index}.content.${blockIndex}`;
    switch (block.type) {
      case 'text':
        if (hasCitations(block)) conversion.leaveOut(`${param}.citations`, 'citations');
        text += String(block.text ?? '');
        return;
      case 'tool_use':
        toolCalls.push({ id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) } });
        return;
      case 'thinking':
        // Only the turn being continued keeps its thinking: a reasoning prefill.
        if (final) reasoning += String(block.thinking ?? '');
        return;
      case 'redacted_thinking':
        if (final) conversion.leaveOut(param, 'a redacted_thinking block to continue');
        return;
      default:
        return conversion.leaveOut(param, `a "${block.type}" block`);
    }
  });
  if (text.length === 0 && reasoning.length === 0 && toolCalls.length === 0) return;
  const message: ChatMessage = { role: 'assistant', content: toolCalls.length > 0 && text.length === 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning.length > 0) message.reasoning_content = reasoning;
  if (prefill && toolCalls.length === 0) message.prefix = true;
  conversion.messages.push(message);
}

function toolResultText(conversion: Conversion, block: BlockParam, param: string): string {
  const content = block.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts: string[] = [];
  (content as BlockParam[]).forEach((part, partIndex) => {
    if (part.type === 'text') texts.push(String(part.text ?? ''));
    else conversion.leaveOut(`${param}.content.${partIndex}`, `a "${part.type}" block in a tool result`);
  });
  return texts.join('\n');
}

function imageUrl(block: BlockParam): string | undefined {
  const source = block.source as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown } | undefined;
  if (source?.type === 'base64' && typeof source.data === 'string') return `data:${String(source.media_type ?? 'image/png')};base64,${source.data}`;
  if (source?.type === 'url' && typeof source.url === 'string' && /^https?:\/\//.test(source.url)) return source.url;
  return undefined;
}

function hasCitations(block: BlockParam): boolean {
  return Array.isArray(block.citations) && block.citations.length > 0;
}

/** The generation settings, in the request model's names. */
function settings(conversion: Conversion, body: MessagesBody, chat: ChatRequest, options: ConversionOptions): void {
  if (body.max_tokens !== undefined) chat.max_tokens = body.max_tokens;
  if (body.stop_sequences !== undefined && body.stop_sequences.length > 0) chat.stop = body.stop_sequences;
  for (const field of ['temperature', 'top_p'] as const) if (body[field] !== undefined) chat[field] = body[field];
  if (options.topK && body.top_k !== undefined) chat.top_k = body.top_k;
  if (body.stream === true) {
    chat.stream = true;
    // A Message always reports its usage, so the upstream is asked for it.
    chat.stream_options = { include_usage: true };
  }
  if (body.echo === true) chat.echo = true;
  if (typeof body.metadata?.user_id === 'string') chat.user = body.metadata.user_id;
  if (options.nativeThinking) {
    if (body.thinking !== undefined) chat.thinking = body.thinking;
  } else if (body.thinking?.type === 'enabled' && body.thinking.budget_tokens !== undefined) {
    chat.reasoning_budget_tokens = body.thinking.budget_tokens;
  }
  const tools = (body.tools ?? []).filter(isClientTool).map(functionTool);
  if (tools.length > 0) chat.tools = tools;
  const choice = body.tool_choice;
  if (choice) {
    chat.tool_choice = choice.type === 'any' ? 'required' : choice.type === 'tool' ? { type: 'function', function: { name: choice.name ?? '' } } : choice.type;
    if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  }
  for (const field of ['mcp_servers', 'container'] as const) {
    if (body[field] !== undefined && body[field] !== null) conversion.leaveOut(field, `"${field}"`);
  }
}

/**
 * A tool the client runs itself. Anthropic's own tools (web search, code execution, ...) are defined by
 * a versioned type and run on its servers: another upstream could not run them, so they are not
 * offered to it (the model then simply does not call them; nothing in the conversation is lost).
 */
function isClientTool(tool: Tool): boolean {
  return tool.type === undefined || tool.type === null || tool.type === 'custom';
}

function functionTool(tool: Tool): unknown {
  const fn: Record<string, unknown> = { name: tool.name, parameters: tool.input_schema ?? { type: 'object', properties: {} } };
  if (typeof tool.description === 'string') fn.description = tool.description;
  return { type: 'function', function: fn };
}
