import { textOnlyContent } from '../../chat/content.js';
import type { ChatMessage, ChatRequest } from '../../chat/schema.js';
import { badRequest } from '../../errors.js';
import { thinkingOf } from '../anthropic/request.js';
import type { JsonBody } from '../types.js';
import { isClaude } from './models.js';

/**
 * OpenAI Chat Completions request → Bedrock Converse request (camelCase JSON; the model goes in the path,
 * never in the body).
 * https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 *
 * Content blocks have no `type` tag: the member name is the type (`{text}`, `{image}`, `{toolUse}`,
 * `{toolResult}`). Bedrock refuses a conversation whose roles do not alternate, a message without content
 * and a blank text block, so consecutive same-role messages become one, blank text is left out and empty
 * messages are dropped.
 */

type Block = Record<string, unknown>;
interface ConverseMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Client fields in Bedrock's own spelling, passed on as they are (a client that knows Bedrock). */
const NATIVE_FIELDS = ['guardrailConfig', 'additionalModelResponseFieldPaths', 'promptVariables', 'requestMetadata', 'performanceConfig', 'serviceTier'] as const;

const IMAGE_FORMATS: Readonly<Record<string, string>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

export interface ConversePrefill {
  /** The partial assistant text as it is sent (already without trailing whitespace where that was needed). */
  text: string;
}

export function toConverseRequest(request: ChatRequest, prefill?: ConversePrefill): JsonBody {
  const system: Block[] = [];
  const messages: ConverseMessage[] = [];
  const push = (role: ConverseMessage['role'], content: Block[]) => {
    if (content.length === 0) return;
    const previous = messages[messages.length - 1];
    if (previous && previous.role === role) previous.content.push(...content);
    else messages.push({ role, content });
  };

  const history = prefill ? request.messages.slice(0, -1) : request.messages;
  history.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOnlyContent(message.content, index);
        if (!isBlank(text)) system.push({ text });
        return;
      }
      case 'user':
        push('user', userBlocks(message, index));
        return;
      case 'assistant':
        push('assistant', assistantBlocks(message, index));
        return;
      case 'tool':
      case 'function': {
        const text = textOnlyContent(message.content, index);
        push('user', [
          {
            toolResult: {
              toolUseId: String(message.tool_call_id ?? message.name ?? ''),
              // A tool result may be empty; a blank text block may not.
              content: [{ text: isBlank(text) ? '(empty)' : text }],
            },
          },
        ]);
        return;
      }
      default: {
        const unexpected: never = message.role;
        throw badRequest(`Unsupported role ${String(unexpected)}.`, `messages[${index}].role`);
      }
    }
  });
  if (prefill && !isBlank(prefill.text)) push('assistant', [{ text: prefill.text }]);

  const body: JsonBody = { messages };
  if (system.length > 0) body.system = system;
  const inference: JsonBody = {};
  const maxTokens = numberField(request.max_completion_tokens) ?? numberField(request.max_tokens);
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  const temperature = numberField(request.temperature);
  if (temperature !== undefined) inference.temperature = temperature;
  const topP = numberField(request.top_p);
  if (topP !== undefined) inference.topP = topP;
  const stop = request.stop;
  if (typeof stop === 'string') inference.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) inference.stopSequences = stop;
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;

  const toolConfig = toToolConfig(request);
  if (toolConfig) body.toolConfig = toolConfig;

  // Model-specific fields: Claude's top_k and extended thinking.
  const additional: JsonBody = { ...(objectField(request.additionalModelRequestFields) ?? {}) };
  const topK = numberField(request.top_k);
  if (topK !== undefined) additional.top_k = topK;
  if (isClaude(request.model)) {
    const thinking = thinkingOf(request);
    if (thinking) additional.thinking = thinking;
  }
  if (Object.keys(additional).length > 0) body.additionalModelRequestFields = additional;
  for (const field of NATIVE_FIELDS) if (request[field] !== undefined && request[field] !== null) body[field] = request[field];

  if (typeof request.n === 'number' && request.n > 1) throw badRequest('Bedrock returns one choice per request: n must be 1.', 'n');
  return body;
}

/** Below the upstream's base path: `/model/{modelId}/converse` or `/converse-stream`, the ID encoded once (an ARN stays one segment). */
export function conversePath(request: ChatRequest): string {
  const model = request.model;
  if (!model) throw badRequest('Bedrock needs a model ID: set "model".', 'model');
  return `/model/${encodeModelId(model)}/${request.stream === true ? 'converse-stream' : 'converse'}`;
}

/** As the AWS SDKs encode a path label: encodeURIComponent, and also `!'()*`. */
export function encodeModelId(modelId: string): string {
  return encodeURIComponent(modelId).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function userBlocks(message: ChatMessage, index: number): Block[] {
  const content = message.content;
  if (typeof content === 'string') return isBlank(content) ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  content.forEach((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    if (part.type === 'text') {
      const text = String(part.text ?? '');
      if (!isBlank(text)) blocks.push({ text });
    } else if (part.type === 'image_url') blocks.push(imageBlock(part.image_url, param));
    else throw badRequest(`Content parts of type "${part.type}" cannot be sent to Bedrock.`, param);
  });
  return blocks;
}

function imageBlock(imageUrl: unknown, param: string): Block {
  const url = typeof imageUrl === 'string' ? imageUrl : (imageUrl as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw badRequest('An image_url part needs a url.', param);
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) {
    const format = IMAGE_FORMATS[data[1]!.toLowerCase()];
    if (!format) throw badRequest(`Bedrock takes png, jpeg, gif and webp images, not ${data[1]}.`, param);
    return { image: { format, source: { bytes: data[2] } } };
  }
  const s3 = /^s3:\/\/[^/]+\/.+\.(png|jpe?g|gif|webp)$/i.exec(url);
  if (s3) return { image: { format: s3[1]!.toLowerCase().replace('jpg', 'jpeg'), source: { s3Location: { uri: url } } } };
  throw badRequest('Bedrock takes images as base64 data URLs (or s3:// URLs), not http(s) URLs.', param);
}

function assistantBlocks(message: ChatMessage, index: number): Block[] {
  const blocks: Block[] = [];
  const text = textOnlyContent(message.content, index);
  if (!isBlank(text)) blocks.push({ text });
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
    // Bedrock's toolUse input is a JSON object.
    if (!input || typeof input !== 'object' || Array.isArray(input)) input = { value: input };
    blocks.push({ toolUse: { toolUseId: String((call as { id?: unknown }).id ?? ''), name: String(fn?.name ?? ''), input } });
  });
  return blocks;
}

function toToolConfig(request: ChatRequest): JsonBody | undefined {
  if (!Array.isArray(request.tools) || request.tools.length === 0) return undefined;
  const tools = request.tools.map((tool: unknown, index: number) => {
    const fn = (tool as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } }).function;
    if ((tool as { type?: unknown }).type !== 'function' || !fn) throw badRequest('Only function tools can be sent to Bedrock.', `tools[${index}]`);
    const spec: Block = { name: fn.name, inputSchema: { json: fn.parameters ?? { type: 'object', properties: {} } } };
    if (typeof fn.description === 'string' && fn.description.length > 0) spec.description = fn.description;
    return { toolSpec: spec };
  });
  const config: JsonBody = { tools };
  const choice = request.tool_choice;
  // Bedrock has no "none": the tools stay (history may hold tool calls, which need toolConfig), unforced.
  if (choice === 'auto') config.toolChoice = { auto: {} };
  else if (choice === 'required') config.toolChoice = { any: {} };
  else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string') config.toolChoice = { tool: { name } };
  }
  return config;
}

function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function objectField(value: unknown): JsonBody | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonBody) : undefined;
}
