import { textOnlyContent } from '../../chat/content.js';
import type { ChatMessage, ChatRequest } from '../../chat/schema.js';
import { badRequest } from '../../errors.js';
import type { JsonBody } from '../types.js';
import { availableLevel, bareModel, clampBudget, geminiModel, isLatestGeneration, levelForBudget, thinkingForm, thinksByDefault, type ThinkingLevel } from './models.js';

/**
 * OpenAI Chat Completions request → Gemini `GenerateContentRequest` (the native v1beta API).
 * https://ai.google.dev/api/generate-content
 *
 * The API rejects fields it does not know ("Invalid JSON payload received. Unknown name …"), so the body is
 * built from what Gemini documents, never copied from the client's.
 */

type Part = Record<string, unknown>;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

/** The documented placeholder for a function call whose thought signature was lost (Gemini 3 requires one). */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Where Gemini's OpenAI-compatible endpoint (and this proxy's answers) carry a function call's thought signature. */
export interface GoogleExtraContent {
  extra_content?: { google?: { thought_signature?: string } };
}

/** The path of one call: whole answers from `:generateContent`, streams from `:streamGenerateContent?alt=sse`. */
export function geminiPath(model: string | undefined, stream: boolean): string {
  if (!model) throw badRequest('The Gemini API needs a model (e.g. "gemini-2.5-flash").', 'model');
  const name = /^(?:models|tunedModels)\//.test(model) ? model : `models/${model}`;
  if (!/^(?:models|tunedModels)\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw badRequest(`"${model}" is not a Gemini model name.`, 'model');
  return `/v1beta/${name}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
}

/**
 * The request in Gemini's form. `prefill` is the partial answer, sent as a trailing `model` turn the
 * model continues.
 */
export function toGeminiRequest(request: ChatRequest, prefill?: { text: string }): JsonBody {
  const model = bareModel(request.model);
  const system: Part[] = [];
  const contents: Content[] = [];
  const push = (role: Content['role'], parts: Part[]) => {
    if (parts.length === 0) return;
    const previous = contents[contents.length - 1];
    // One turn per role change: consecutive messages of one side are one turn.
    if (previous && previous.role === role) previous.parts.push(...parts);
    else contents.push({ role, parts });
  };
  const toolNames = new Map<string, string>();
  const history = prefill ? request.messages.slice(0, -1) : request.messages;
  history.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOnlyContent(message.content, index);
        if (text.length > 0) system.push({ text });
        return;
      }
      case 'user':
        push('user', userParts(message, index));
        return;
      case 'assistant':
        push('model', modelParts(message, index, toolNames));
        return;
      case 'tool':
      case 'function':
        push('user', [functionResponse(message, index, toolNames)]);
        return;
      default: {
        const unexpected: never = message.role;
        throw badRequest(`Unsupported role ${String(unexpected)}.`, `messages[${index}].role`);
      }
    }
  });
  if (prefill && prefill.text.length > 0) push('model', [{ text: prefill.text }]);
  for (const content of contents) {
    if (content.role === 'user') orderUserParts(content);
    else signFunctionCalls(content, model);
  }
  if (contents.length === 0) throw badRequest('The Gemini API needs at least one user or assistant message with content.', 'messages');

  const body: JsonBody = { contents };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const tools = toGeminiTools(request.tools);
  if (tools) body.tools = tools;
  const toolConfig = toGeminiToolConfig(request.tool_choice);
  if (toolConfig) body.toolConfig = toolConfig;
  const generationConfig = toGenerationConfig(request, model);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  const google = googleExtras(request);
  if (google.safety_settings !== undefined) body.safetySettings = google.safety_settings;
  if (typeof google.cached_content === 'string') body.cachedContent = google.cached_content;
  return body;
}

/**
 * A user turn that carries function responses must end with them: text after them reads, to the newest
 * models, as a turn that ends on the model's side (the prefill refusal). Other parts go first.
 */
function orderUserParts(content: Content): void {
  if (!content.parts.some((part) => part.functionResponse)) return;
  content.parts = [...content.parts.filter((part) => !part.functionResponse), ...content.parts.filter((part) => part.functionResponse)];
}

/**
 * Gemini 3 requires the thought signature of the first function call of each model turn it is shown
 * again. A client that kept it (`extra_content.google.thought_signature`, as the proxy answers) sends it
 * back; otherwise the documented placeholder stands in. 2.x models take no placeholder.
 */
function signFunctionCalls(content: Content, model: string): void {
  const first = content.parts.find((part) => part.functionCall);
  if (!first || typeof first.thoughtSignature === 'string') return;
  const known = geminiModel(model);
  if (known && known.major < 3) return;
  first.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
}

function userParts(message: ChatMessage, index: number): Part[] {
  const content = message.content;
  if (typeof content === 'string') return content.length > 0 ? [{ text: content }] : [];
  if (!Array.isArray(content)) return [];
  return content.flatMap((part, partIndex): Part[] => {
    const param = `messages[${index}].content[${partIndex}]`;
    switch (part.type) {
      case 'text':
        return typeof part.text === 'string' && part.text.length > 0 ? [{ text: part.text }] : [];
      case 'image_url':
        return [imagePart(part.image_url, param)];
      case 'input_audio':
        return [audioPart(part.input_audio, param)];
      case 'file':
        return [filePart(part.file, param)];
      default:
        throw badRequest(`Content parts of type "${part.type}" cannot be sent to Gemini.`, param);
    }
  });
}

const IMAGE_TYPES: Readonly<Record<string, string>> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic', heif: 'image/heif' };

/**
 * Data URLs go inline; http(s) URLs as `fileData` (the Gemini API fetches public and signed URLs itself,
 * as it does its own Files API URIs), with the MIME type read from the file name when it tells one.
 */
function imagePart(imageUrl: unknown, param: string): Part {
  const url = typeof imageUrl === 'string' ? imageUrl : (imageUrl as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') throw badRequest('An image_url part needs a url.', param);
  const inline = inlineData(url);
  if (inline) return inline;
  if (/^https?:\/\//i.test(url)) {
    const extension = /\.([A-Za-z0-9]+)(?:[?#]|$)/.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    const mimeType = extension ? IMAGE_TYPES[extension] : undefined;
    return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
  }
  throw badRequest('An image URL must be an http(s) URL or a base64 data URL.', param);
}

function inlineData(url: string): Part | undefined {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return data ? { inlineData: { mimeType: data[1], data: data[2] } } : undefined;
}

function audioPart(audio: unknown, param: string): Part {
  const { data, format } = (audio ?? {}) as { data?: unknown; format?: unknown };
  if (typeof data !== 'string' || typeof format !== 'string') throw badRequest('An input_audio part needs data and format.', param);
  return { inlineData: { mimeType: `audio/${format === 'mp3' ? 'mpeg' : format}`, data } };
}

function filePart(file: unknown, param: string): Part {
  const { file_data: data } = (file ?? {}) as { file_data?: unknown };
  const inline = typeof data === 'string' ? inlineData(data) : undefined;
  if (!inline) throw badRequest('A file part needs file_data as a base64 data URL (file ids cannot be sent to Gemini).', param);
  return inline;
}

function modelParts(message: ChatMessage, index: number, toolNames: Map<string, string>): Part[] {
  const parts: Part[] = [];
  const text = textOnlyContent(message.content, index);
  if (text.length > 0) parts.push({ text });
  const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  toolCalls.forEach((call, callIndex) => {
    const { id, function: fn, extra_content: extra } = call as { id?: unknown; function?: { name?: unknown; arguments?: unknown } } & GoogleExtraContent;
    const name = String(fn?.name ?? '');
    if (typeof id === 'string') toolNames.set(id, name);
    let args: unknown = {};
    if (typeof fn?.arguments === 'string' && fn.arguments.trim().length > 0) {
      try {
        args = JSON.parse(fn.arguments);
      } catch {
        throw badRequest('Tool call arguments must be a JSON string.', `messages[${index}].tool_calls[${callIndex}].function.arguments`);
      }
    }
    const part: Part = { functionCall: { name, args: args && typeof args === 'object' && !Array.isArray(args) ? args : { value: args } } };
    const signature = extra?.google?.thought_signature;
    if (typeof signature === 'string' && signature.length > 0) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

/** A tool result as a `functionResponse` part: named after its call, its JSON object as the response (other text wrapped). */
function functionResponse(message: ChatMessage, index: number, toolNames: Map<string, string>): Part {
  const id = typeof message.tool_call_id === 'string' ? message.tool_call_id : undefined;
  const name = (id !== undefined ? toolNames.get(id) : undefined) ?? (typeof message.name === 'string' ? message.name : undefined);
  if (!name) throw badRequest('A tool result must answer a tool call of an earlier assistant message (Gemini names function responses).', `messages[${index}].tool_call_id`);
  const text = textOnlyContent(message.content, index);
  let response: unknown;
  try {
    response = JSON.parse(text);
  } catch {
    response = undefined;
  }
  return { functionResponse: { name, response: response && typeof response === 'object' && !Array.isArray(response) ? response : { result: text } } };
}

function toGeminiTools(tools: unknown): JsonBody[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  const declarations = tools.map((tool: unknown, index) => {
    const fn = (tool as { type?: unknown; function?: { name?: unknown; description?: unknown; parameters?: unknown } }).function;
    if ((tool as { type?: unknown }).type !== 'function' || !fn) throw badRequest('Only function tools can be sent to Gemini.', `tools[${index}]`);
    const out: JsonBody = { name: fn.name };
    if (typeof fn.description === 'string') out.description = fn.description;
    // parametersJsonSchema takes the JSON Schema as OpenAI tools give it (`parameters` is Google's OpenAPI subset).
    if (fn.parameters !== undefined && fn.parameters !== null) out.parametersJsonSchema = fn.parameters;
    return out;
  });
  return [{ functionDeclarations: declarations }];
}

function toGeminiToolConfig(choice: unknown): JsonBody | undefined {
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
  }
  return undefined;
}

function toGenerationConfig(request: ChatRequest, model: string): JsonBody {
  const config: JsonBody = {};
  const max = numberField(request.max_completion_tokens) ?? numberField(request.max_tokens);
  if (max !== undefined) config.maxOutputTokens = max;
  // The newest models deprecate sampling fields and reject custom penalties.
  const latest = isLatestGeneration(model);
  const sampling: Array<[string, string]> = latest ? [] : [['temperature', 'temperature'], ['top_p', 'topP'], ['top_k', 'topK'], ['presence_penalty', 'presencePenalty'], ['frequency_penalty', 'frequencyPenalty']];
  for (const [from, to] of [...sampling, ['seed', 'seed'] as [string, string]]) {
    const value = numberField(request[from]);
    if (value !== undefined) config[to] = value;
  }
  const stop = request.stop;
  if (typeof stop === 'string' && stop.length > 0) config.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) config.stopSequences = stop;
  if (typeof request.n === 'number' && request.n > 1) config.candidateCount = request.n;
  const format = request.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined | null;
  if (format?.type === 'json_object') config.responseMimeType = 'application/json';
  else if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    if (format.json_schema?.schema !== undefined) config.responseJsonSchema = format.json_schema.schema;
  }
  const thinking = thinkingConfigOf(request, model);
  if (thinking) config.thinkingConfig = thinking;
  return config;
}

const EFFORT_LEVELS: Readonly<Record<string, ThinkingLevel>> = { none: 'minimal', minimal: 'minimal', low: 'low', medium: 'medium', high: 'high', xhigh: 'high' };
const EFFORT_BUDGETS: Readonly<Record<string, number>> = { none: 0, minimal: 0, low: 1024, medium: 8192, high: 24_576, xhigh: 32_768 };

/**
 * `generationConfig.thinkingConfig`, from (first that is set) Gemini's own `google.thinking_config` (the
 * extra body its OpenAI-compatible endpoint takes), the proxy's `reasoning_budget_tokens`, or OpenAI's
 * `reasoning_effort`: a budget for models that take one (2.x), a level for those that take levels (3.x;
 * see levelForBudget). Thoughts are asked for whenever the model thinks, so they come back as reasoning.
 */
export function thinkingConfigOf(request: ChatRequest, model: string): JsonBody | undefined {
  const own = googleExtras(request).thinking_config;
  if (own && typeof own === 'object') return ownThinkingConfig(own as Record<string, unknown>);
  const form = thinkingForm(model);
  const budget = request.reasoning_budget_tokens;
  if (typeof budget === 'number') {
    if (form === 'level') {
      const level = levelForBudget(model, budget);
      return level === 'minimal' ? { thinkingLevel: level } : { thinkingLevel: level, includeThoughts: true };
    }
    const clamped = clampBudget(model, budget);
    return clamped === 0 ? { thinkingBudget: 0 } : { thinkingBudget: clamped, includeThoughts: true };
  }
  const effort = request.reasoning_effort;
  if (typeof effort === 'string' && EFFORT_LEVELS[effort] !== undefined) {
    if (form === 'level') {
      const level = availableLevel(model, EFFORT_LEVELS[effort]);
      return level === 'minimal' ? { thinkingLevel: level } : { thinkingLevel: level, includeThoughts: true };
    }
    const clamped = clampBudget(model, EFFORT_BUDGETS[effort]!);
    return clamped === 0 ? { thinkingBudget: 0 } : { thinkingBudget: clamped, includeThoughts: true };
  }
  return thinksByDefault(model) ? { includeThoughts: true } : undefined;
}

/** `google.thinking_config` as the client gave it (snake_case or camelCase). */
function ownThinkingConfig(own: Record<string, unknown>): JsonBody {
  const out: JsonBody = {};
  const budget = own.thinking_budget ?? own.thinkingBudget;
  const level = own.thinking_level ?? own.thinkingLevel;
  const include = own.include_thoughts ?? own.includeThoughts;
  if (typeof budget === 'number') out.thinkingBudget = budget;
  if (typeof level === 'string') out.thinkingLevel = level;
  if (typeof include === 'boolean') out.includeThoughts = include;
  else if (out.thinkingBudget !== 0) out.includeThoughts = true;
  return out;
}

/** The `google` object of the extra body Gemini's OpenAI-compatible endpoint takes (`extra_body: {google: …}`). */
function googleExtras(request: ChatRequest): Record<string, unknown> {
  const google = request.google;
  return google && typeof google === 'object' && !Array.isArray(google) ? (google as Record<string, unknown>) : {};
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
