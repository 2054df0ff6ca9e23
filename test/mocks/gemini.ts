import type { ServerResponse } from 'node:http';
import { sendJson, startMockServer, type MockServer, type RecordedRequest } from './server.js';

/**
 * Google's Gemini API (the native Generative Language API, `v1beta`) as its reference and the official
 * `@google/genai` SDK describe it. Where each behaviour comes from:
 *
 * - Routes, request and response shapes: ai.google.dev/api/generate-content (`models.generateContent`,
 *   `models.streamGenerateContent`, `GenerateContentResponse`, `Candidate`, `FinishReason`, `UsageMetadata`),
 *   ai.google.dev/api/tokens (`models.countTokens`), ai.google.dev/api/models (`models.list`, `models.get`).
 *   The SDK (googleapis/js-genai, `ApiClient`) calls `{baseUrl}/v1beta/models/{model}:generateContent`,
 *   `…:streamGenerateContent?alt=sse`, `…:countTokens` and `GET {baseUrl}/v1beta/models`, with the key in
 *   `x-goog-api-key` (the REST docs also show `?key=`). Its system recordings (test/system/recordings) show
 *   `usageMetadata` on every streamed chunk with cumulative `candidatesTokenCount`, `finishReason` only on
 *   the last chunk, `modelVersion`, `responseId`, and `totalTokenCount = prompt + candidates + thoughts`.
 * - SSE framing: `data: <compact JSON>\r\n\r\n`, no `[DONE]`, the stream simply ends (widely observed; the SDK
 *   splits on `\n\n`, `\r\r` and `\r\n\r\n`). Without `alt=sse` the stream is one JSON array. Whole JSON
 *   answers and error bodies are pretty-printed, as Google's front end sends them.
 * - Errors: `{"error": {"code", "message", "status", "details"?}}` (ai.google.dev/gemini-api/docs/troubleshooting).
 *   Wrong key → 400 INVALID_ARGUMENT "API key not valid. Please pass a valid API key." with an `ErrorInfo`
 *   detail `reason: API_KEY_INVALID`; no key → 403 PERMISSION_DENIED "Method doesn't allow unregistered
 *   callers …"; unknown model → 404 NOT_FOUND "models/x is not found for API version v1beta, or is not
 *   supported for generateContent. …"; unknown JSON fields → 400 "Invalid JSON payload received. Unknown
 *   name …" with a `BadRequest` detail; no contents → "* GenerateContentRequest.contents: contents is not
 *   specified"; bad role → "Please use a valid role: user, model." (all messages as reported verbatim in
 *   public bug reports and recorded answers).
 * - Prefill: a trailing `model` turn is continued and only the continuation is returned (2.x, Gemini 3 Pro,
 *   3 Flash, 3.1, 3.5 Flash). The models released from Gemini 3.6 Flash / 3.5 Flash-Lite on refuse it
 *   (ai.google.dev/gemini-api/docs/latest-model: "Prefilling model turns is no longer supported") with 400
 *   INVALID_ARGUMENT "Requests ending with a model turn are not supported." — the wording in every 2026-08/09
 *   report against the Gemini API and Vertex; one July report (LibreChat-AI/agents#323) quotes it with
 *   " unless the last part is a function response." appended. Both are selectable (`prefillRefusalMessage`),
 *   and which models refuse is an option (`noPrefillModels`).
 * - Thinking (ai.google.dev/gemini-api/docs/thinking, /gemini-3): 2.5 takes `thinkingBudget` (-1 dynamic;
 *   0 turns thinking off on Flash / Flash-Lite; Pro: "Budget 0 is invalid. This model only works in thinking
 *   mode."), Flash-Lite does not think unless given a budget; `thinkingLevel` on 2.5 → "Thinking level is not
 *   supported for this model."; Gemini 3 takes `thinkingLevel` (Pro: low/high, 3.1 Pro: low/medium/high,
 *   Flash and Flash-Lite: minimal/low/medium/high; `minimal` reports 0 thought tokens), both fields → "You can
 *   only set only one of thinking budget and thinking level."; thought tokens count against
 *   `maxOutputTokens` and are reported in `thoughtsTokenCount` whether or not `includeThoughts` is set;
 *   `includeThoughts` adds `thought: true` summary parts first. Gemini 3 puts an opaque `thoughtSignature` on
 *   the first function-call part, on the answer's text part (whole answers) or on a final empty text part
 *   (streams), and rejects a replayed current-turn function call without it ("Function call is missing a
 *   thought_signature in functionCall parts. …"; the documented dummy `skip_thought_signature_validator` passes).
 * - Function calling (ai.google.dev/gemini-api/docs/function-calling): a `functionCall` part with
 *   finishReason STOP; `toolConfig.functionCallingConfig.mode` AUTO / ANY / NONE and `allowedFunctionNames`.
 *
 * The stand-in model is deterministic: a fixed reply, a fixed continuation for a prefill, a fixed thought, a
 * function call when tools are given and the prompt mentions the weather (or mode ANY), and a summary of the
 * function response when the last user turn carries one. Tokens are words (`\S+`); streamed answers arrive
 * one word per chunk.
 */

export interface GeminiMockOptions {
  /** Listen port; 0 (default) picks a free one. */
  port?: number;
  /** The one valid key (default `test-gemini-key`). */
  apiKey?: string;
  /** Answer every authenticated request with this status and body (the body is sent as JSON). */
  failWith?: { status: number; body: unknown };
  /** Model ids the mock serves (default: KNOWN_MODELS). Others are a 404. */
  models?: string[];
  /** The answer to a request that is not a prefill (default "The quick brown fox jumps over the lazy dog."). */
  reply?: string;
  /** The answer to a prefill (default " jumped over the lazy dog."); never repeats the prefix. */
  continuation?: string;
  /** The thought summary (default THOUGHT). */
  thought?: string;
  /** Which models refuse a trailing model turn (default: `refusesPrefill`). */
  noPrefillModels?: RegExp | ((model: string) => boolean);
  /** The refusal message (default PREFILL_REFUSAL). */
  prefillRefusalMessage?: string;
  /** Gemini 3 rejects replayed function calls without a thoughtSignature (default true). */
  requireThoughtSignatures?: boolean;
  /** In streams, send an in-stream `UNAVAILABLE` error object after this many chunks and end. */
  failAfterChunks?: number;
  /** Wait this long before each streamed chunk (default 0). */
  chunkDelayMs?: number;
}

export interface GeminiMock extends MockServer {
  counts: { generateContent: number; streamGenerateContent: number; countTokens: number; listModels: number; getModel: number; errors: number };
}

export const DEFAULT_GEMINI_KEY = 'test-gemini-key';
export const PREFILL_REFUSAL = 'Requests ending with a model turn are not supported.';
export const PREFILL_REFUSAL_LONG = 'Requests ending with a model turn are not supported unless the last part is a function response.';
export const DEFAULT_REPLY = 'The quick brown fox jumps over the lazy dog.';
export const DEFAULT_CONTINUATION = ' jumped over the lazy dog.';
export const THOUGHT = '**Answering briefly**\n\nThe user wants a short sentence, so I will answer plainly without extra detail.';
export const THOUGHT_SIGNATURE = 'CiQBVKhc7oCv3xWnS1ZkMC0yZ1Fb7dJ9fTt0E4gqQ5m0c3gP8a0SGgoYAXLI2nz';
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';
export const KNOWN_MODELS = [
  'gemini-2.5-flash',
  'gemini-2.5-flash-lite',
  'gemini-2.5-pro',
  'gemini-3-flash-preview',
  'gemini-3-pro-preview',
  'gemini-3.1-pro-preview',
  'gemini-3.1-flash-lite',
  'gemini-3.5-flash',
  'gemini-3.5-flash-lite',
  'gemini-3.6-flash',
];

type Json = Record<string, unknown>;
type Part = {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { name: string; args?: Json; id?: string };
  functionResponse?: { name: string; response?: Json; id?: string };
  inlineData?: { mimeType: string; data: string };
  [key: string]: unknown;
};
type Content = { role?: string; parts?: Part[] };
type FunctionDeclaration = { name: string; description?: string; parameters?: Json; parametersJsonSchema?: Json };

/** Models released from Gemini 3.6 Flash / 3.5 Flash-Lite on (and every later major) refuse a trailing model turn. */
export function refusesPrefill(model: string): boolean {
  if (/^gemini-3\.5-flash-lite(?:$|-)/.test(model)) return true;
  const version = versionOf(model);
  if (!version) return false;
  return version.major > 3 || (version.major === 3 && version.minor >= 6);
}

function versionOf(model: string): { major: number; minor: number } | undefined {
  const match = /^gemini-(\d+)(?:\.(\d+))?-/.exec(model);
  return match ? { major: Number(match[1]), minor: Number(match[2] ?? '0') } : undefined;
}

// Field names the API knows, in camelCase (proto JSON also accepts snake_case; both are checked).
const REQUEST_FIELDS = ['model', 'contents', 'systemInstruction', 'tools', 'toolConfig', 'safetySettings', 'generationConfig', 'cachedContent', 'serviceTier', 'store', 'labels'];
const CONTENT_FIELDS = ['role', 'parts'];
const PART_FIELDS = [
  'text', 'thought', 'thoughtSignature', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult',
  'videoMetadata', 'partMetadata', 'mediaResolution', 'toolCall', 'toolResponse', 'audioTranscription', 'mediaProcessing', 'speechMetadata',
];
const GENERATION_FIELDS = [
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', '_responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens',
  'temperature', 'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'enableEnhancedCivicAnswers', 'speechConfig',
  'thinkingConfig', 'imageConfig', 'mediaResolution', 'audioTranscriptionConfig', 'routingConfig', 'modelSelectionConfig', 'audioTimestamp',
];
const THINKING_FIELDS = ['includeThoughts', 'thinkingBudget', 'thinkingLevel'];
const LEVELS = ['MINIMAL', 'LOW', 'MEDIUM', 'HIGH'];

class GeminiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
    readonly details?: unknown[],
  ) {
    super(message);
  }
}

const invalid = (message: string, details?: unknown[]) => new GeminiError(400, 'INVALID_ARGUMENT', message, details);

export async function startGeminiMock(options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const apiKey = options.apiKey ?? DEFAULT_GEMINI_KEY;
  const models = options.models ?? KNOWN_MODELS;
  const counts = { generateContent: 0, streamGenerateContent: 0, countTokens: 0, listModels: 0, getModel: 0, errors: 0 };
  let responses = 0;

  const server = await startMockServer(async (request, res) => {
    try {
      await handle(request, res);
    } catch (err) {
      if (!(err instanceof GeminiError)) throw err;
      counts.errors++;
      if (res.headersSent) return void res.end();
      sendGoogle(res, err.code, { error: { code: err.code, message: err.message, status: err.status, ...(err.details ? { details: err.details } : {}) } });
    }
  }, options.port);
  return Object.assign(server, { counts });

  async function handle(request: RecordedRequest, res: ServerResponse): Promise<void> {
    const url = new URL(request.url, 'http://mock');
    const headerKey = request.headers['x-goog-api-key'];
    const key = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? url.searchParams.get('key') ?? undefined;
    if (!key) {
      throw new GeminiError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    }
    if (key !== apiKey) {
      throw invalid('API key not valid. Please pass a valid API key.', [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
      ]);
    }
    if (options.failWith) return sendJson(res, options.failWith.status, options.failWith.body);

    const path = decodeURIComponent(url.pathname);
    if (request.method === 'GET' && path === '/v1beta/models') {
      counts.listModels++;
      return listModels(url, res);
    }
    const route = /^\/v1beta\/models\/([^/:]+)(?::([A-Za-z]+))?$/.exec(path);
    if (!route) throw new GeminiError(404, 'NOT_FOUND', 'Requested entity was not found.');
    const [, model = '', method] = route;
    if (request.method === 'GET' && method === undefined) {
      counts.getModel++;
      if (!models.includes(model)) throw new GeminiError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta.`);
      return sendGoogle(res, 200, modelInfo(model));
    }
    if (request.method !== 'POST' || !['generateContent', 'streamGenerateContent', 'countTokens'].includes(method ?? '')) {
      throw new GeminiError(404, 'NOT_FOUND', 'Requested entity was not found.');
    }
    if (!models.includes(model)) {
      throw new GeminiError(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
    }
    const body = parseBody(request);
    if (method === 'countTokens') {
      counts.countTokens++;
      return countTokens(body, res);
    }
    if (method === 'streamGenerateContent') counts.streamGenerateContent++;
    else counts.generateContent++;
    const plan = planAnswer(model, body);
    const responseId = `mock${(++responses).toString(36).padStart(4, '0')}Gqk1bS0aKrVsPmw`;
    if (method === 'generateContent') return sendGoogle(res, 200, wholeAnswer(plan, model, responseId));
    const chunks = streamedAnswer(plan, model, responseId);
    if (url.searchParams.get('alt') !== 'sse') return sendGoogle(res, 200, chunks);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'content-disposition': 'attachment', 'cache-control': 'no-cache', vary: 'Origin, X-Origin, Referer' });
    for (const [i, chunk] of chunks.entries()) {
      if (options.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, options.chunkDelayMs));
      if (res.destroyed) return;
      if (options.failAfterChunks !== undefined && i === options.failAfterChunks) {
        res.write(`data: ${JSON.stringify({ error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } })}\r\n\r\n`);
        return void res.end();
      }
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    }
    res.end();
  }

  function listModels(url: URL, res: ServerResponse): void {
    const pageSize = Math.min(Number(url.searchParams.get('pageSize') ?? 50) || 50, 1000);
    const start = Number(url.searchParams.get('pageToken') ?? 0) || 0;
    const page = models.slice(start, start + pageSize).map(modelInfo);
    const next = start + pageSize < models.length ? { nextPageToken: String(start + pageSize) } : {};
    sendGoogle(res, 200, { models: page, ...next });
  }

  function countTokens(body: Json, res: ServerResponse): void {
    // Either {contents} or {generateContentRequest: {model, contents, systemInstruction, tools, …}}.
    const inner = body.generateContentRequest as Json | undefined;
    checkFields(body, ['contents', 'generateContentRequest'], '');
    if (body.contents !== undefined && inner !== undefined) throw invalid('contents and generate_content_request cannot both be set.');
    const request = inner ?? { contents: body.contents };
    if (inner) checkFields(inner, REQUEST_FIELDS, 'generate_content_request');
    const contents = checkContents(request.contents, inner ? 'CountTokensRequest.generate_content_request' : 'CountTokensRequest');
    const total = promptTokens(contents, request.systemInstruction as Content | undefined);
    sendGoogle(res, 200, { totalTokens: total, promptTokensDetails: [{ modality: 'TEXT', tokenCount: total }] });
  }

  type Plan = {
    thought: string;
    thoughtTokens: number;
    includeThoughts: boolean;
    pieces: string[];
    functionCall?: { name: string; args: Json };
    finishReason: 'STOP' | 'MAX_TOKENS';
    promptTokens: number;
    candidates: number;
    signature: boolean;
  };

  function planAnswer(model: string, body: Json): Plan {
    checkFields(body, REQUEST_FIELDS, '');
    const contents = checkContents(body.contents, 'GenerateContentRequest');
    const system = body.systemInstruction as Content | undefined;
    if (system !== undefined) {
      if (typeof system !== 'object' || system === null) throw invalid("Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)");
      checkFields(system as Json, CONTENT_FIELDS, 'system_instruction');
      for (const [i, part] of (system.parts ?? []).entries()) checkFields(part, PART_FIELDS, `system_instruction.parts[${i}]`);
    }
    const config = (body.generationConfig ?? {}) as Json;
    checkFields(config, GENERATION_FIELDS, 'generation_config');
    const gemini3 = (versionOf(model)?.major ?? 0) >= 3;
    const thinking = thinkingFor(model, (config.thinkingConfig ?? undefined) as Json | undefined);

    const last = contents[contents.length - 1]!;
    const lastRole = last.role || 'user';
    const noPrefill = options.noPrefillModels;
    const refuses = noPrefill instanceof RegExp ? noPrefill.test(model) : (noPrefill ?? refusesPrefill)(model);
    if (refuses) {
      const lastPart = last.parts?.[last.parts.length - 1];
      // A user turn with text after its function responses is read as ending on the model's turn too.
      const textAfterResponses = lastRole === 'user' && last.parts!.some((p) => p.functionResponse) && !lastPart?.functionResponse;
      if (lastRole === 'model' || textAfterResponses) throw invalid(options.prefillRefusalMessage ?? PREFILL_REFUSAL);
    }
    if (gemini3 && (options.requireThoughtSignatures ?? true)) checkSignatures(contents);

    const prefix = lastRole === 'model' ? textOf(last) : undefined;
    const responses = lastRole === 'user' ? (last.parts ?? []).filter((p) => p.functionResponse).map((p) => p.functionResponse!) : [];
    const tools = (Array.isArray(body.tools) ? body.tools : []) as Array<{ functionDeclarations?: FunctionDeclaration[] } | null>;
    const declarations = tools.flatMap((tool) => (Array.isArray(tool?.functionDeclarations) ? tool.functionDeclarations : []));
    const callingConfig = ((body.toolConfig as Json | undefined)?.functionCallingConfig ?? {}) as { mode?: string; allowedFunctionNames?: string[] };
    const mode = (callingConfig.mode ?? 'AUTO').toUpperCase();
    const allowed = declarations.filter((d) => !callingConfig.allowedFunctionNames || callingConfig.allowedFunctionNames.includes(d.name));

    let answer: string;
    let functionCall: Plan['functionCall'];
    if (prefix !== undefined) {
      const continuation = options.continuation ?? DEFAULT_CONTINUATION;
      answer = /\s$/.test(prefix) ? continuation.trimStart() : continuation;
    } else if (responses.length > 0) {
      answer = responses.map((r) => `The ${r.name} tool returned ${JSON.stringify(r.response ?? {})}.`).join(' ');
    } else if (allowed.length > 0 && mode !== 'NONE' && (mode === 'ANY' || /weather/i.test(textOf(last)))) {
      const chosen = allowed.find((d) => /weather/i.test(d.name)) ?? allowed[0]!;
      functionCall = { name: chosen.name, args: argsFor(chosen) };
      answer = '';
    } else {
      answer = options.reply ?? DEFAULT_REPLY;
    }
    if (!functionCall && config.responseMimeType === 'application/json' && prefix === undefined) answer = JSON.stringify({ answer });
    let finishReason: Plan['finishReason'] = 'STOP';
    for (const stop of (config.stopSequences ?? []) as string[]) {
      const at = stop ? answer.indexOf(stop) : -1;
      if (at >= 0) answer = answer.slice(0, at);
    }

    // Thought tokens come out of the same maxOutputTokens allowance as the answer.
    const thoughtWords = thinking.on ? words(options.thought ?? THOUGHT, thinking.share, thinking.budget) : [];
    const maxOutput = typeof config.maxOutputTokens === 'number' ? config.maxOutputTokens : Infinity;
    const keptThoughts = thoughtWords.slice(0, Math.max(0, Math.min(thoughtWords.length, maxOutput)));
    let pieces: string[] = answer.match(/\s*\S+/g) ?? [];
    const room = Math.max(0, maxOutput - keptThoughts.length);
    if (pieces.length > room || keptThoughts.length < thoughtWords.length) {
      pieces = pieces.slice(0, room);
      finishReason = 'MAX_TOKENS';
      if (functionCall && room < 1) functionCall = undefined;
    }
    return {
      thought: keptThoughts.join(' '),
      thoughtTokens: keptThoughts.length,
      includeThoughts: thinking.include,
      pieces,
      functionCall,
      finishReason,
      promptTokens: promptTokens(contents, system),
      candidates: typeof config.candidateCount === 'number' && config.candidateCount > 1 ? config.candidateCount : 1,
      // Gemini 3 always signs; 2.5 signs function calls when it thought.
      signature: gemini3 || (thinking.on && !!functionCall),
    };
  }

  function thinkingFor(model: string, config: Json | undefined): { on: boolean; include: boolean; share: number; budget?: number } {
    if (config) checkFields(config, THINKING_FIELDS, 'generation_config.thinking_config');
    const include = config?.includeThoughts === true;
    const budget = config?.thinkingBudget as number | undefined;
    const rawLevel = config?.thinkingLevel as string | undefined;
    const version = versionOf(model);
    const pro = /-pro(?:$|-)/.test(model);
    const lite = /-flash-lite(?:$|-)/.test(model);
    if (budget !== undefined && rawLevel !== undefined) throw invalid('You can only set only one of thinking budget and thinking level.');
    if (rawLevel !== undefined) {
      const level = String(rawLevel).toUpperCase();
      if (!LEVELS.includes(level) && level !== 'THINKING_LEVEL_UNSPECIFIED') {
        throw invalid(`Invalid value at 'generation_config.thinking_config.thinking_level' (type.googleapis.com/google.ai.generativelanguage.v1beta.ThinkingConfig.ThinkingLevel), "${rawLevel}"`);
      }
      if (!version || version.major < 3) throw invalid('Thinking level is not supported for this model.');
      const allowed = pro ? (version.major === 3 && version.minor === 0 ? ['LOW', 'HIGH'] : ['LOW', 'MEDIUM', 'HIGH']) : LEVELS;
      if (level !== 'THINKING_LEVEL_UNSPECIFIED' && !allowed.includes(level)) {
        throw invalid(`Thinking level ${level} is not supported for this model. Please retry with other thinking level.`);
      }
      if (level === 'MINIMAL') return { on: false, include, share: 0 };
      return { on: true, include, share: level === 'LOW' ? 0.5 : 1 };
    }
    if (budget !== undefined) {
      if (budget === 0) {
        if (pro || refusesPrefill(model)) throw invalid('Budget 0 is invalid. This model only works in thinking mode.');
        return { on: false, include, share: 0 };
      }
      return { on: true, include, share: 1, budget: budget > 0 ? budget : undefined };
    }
    // Defaults: every 2.5 and 3.x model thinks, except Flash-Lite (no thinking on 2.5, `minimal` on 3.x).
    return { on: !lite, include, share: 1 };
  }

  function checkSignatures(contents: Content[]): void {
    // The current turn starts after the last user content that is not only function responses.
    let start = 0;
    contents.forEach((content, i) => {
      if ((content.role || 'user') === 'user' && (content.parts ?? []).some((p) => !p.functionResponse)) start = i + 1;
    });
    for (let i = start; i < contents.length; i++) {
      const content = contents[i]!;
      if (content.role !== 'model') continue;
      const first = (content.parts ?? []).find((p) => p.functionCall);
      if (first && !first.thoughtSignature) {
        throw invalid(
          `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.functionCall!.name}\`, position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
        );
      }
    }
  }

  function candidate(parts: Part[], index: number, finishReason?: string): Json {
    return { content: parts.length > 0 ? { parts, role: 'model' } : { role: 'model' }, ...(finishReason ? { finishReason } : {}), index };
  }

  function usage(plan: Plan, candidateTokens: number): Json {
    const candidatesTokenCount = candidateTokens * plan.candidates;
    return {
      promptTokenCount: plan.promptTokens,
      ...(candidatesTokenCount > 0 ? { candidatesTokenCount } : {}),
      totalTokenCount: plan.promptTokens + candidatesTokenCount + plan.thoughtTokens,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: plan.promptTokens }],
      ...(plan.thoughtTokens > 0 ? { thoughtsTokenCount: plan.thoughtTokens } : {}),
    };
  }

  function answerTokens(plan: Plan): number {
    return plan.functionCall ? 1 + words(JSON.stringify(plan.functionCall.args)).length : plan.pieces.length;
  }

  function wholeAnswer(plan: Plan, model: string, responseId: string): Json {
    const parts: Part[] = [];
    if (plan.includeThoughts && plan.thought) parts.push({ text: plan.thought, thought: true });
    if (plan.functionCall) parts.push({ functionCall: plan.functionCall, ...(plan.signature ? { thoughtSignature: THOUGHT_SIGNATURE } : {}) });
    else if (plan.pieces.length > 0) parts.push({ text: plan.pieces.join(''), ...(plan.signature ? { thoughtSignature: THOUGHT_SIGNATURE } : {}) });
    return {
      candidates: Array.from({ length: plan.candidates }, (_, i) => candidate(parts, i, plan.finishReason)),
      usageMetadata: usage(plan, answerTokens(plan)),
      modelVersion: model,
      responseId,
    };
  }

  function streamedAnswer(plan: Plan, model: string, responseId: string): Json[] {
    const steps: Array<{ parts: Part[]; tokens: number }> = [];
    if (plan.includeThoughts && plan.thought) steps.push({ parts: [{ text: plan.thought, thought: true }], tokens: 0 });
    if (plan.functionCall) {
      steps.push({ parts: [{ functionCall: plan.functionCall, ...(plan.signature ? { thoughtSignature: THOUGHT_SIGNATURE } : {}) }], tokens: answerTokens(plan) });
    } else {
      plan.pieces.forEach((piece) => steps.push({ parts: [{ text: piece }], tokens: 1 }));
      // Gemini 3 closes a text answer with an empty part that carries the signature.
      if (plan.signature) steps.push({ parts: [{ text: '', thoughtSignature: THOUGHT_SIGNATURE }], tokens: 0 });
    }
    if (steps.length === 0) steps.push({ parts: [], tokens: 0 });
    let emitted = 0;
    return steps.map((step, i) => {
      emitted += step.tokens;
      const final = i === steps.length - 1 ? plan.finishReason : undefined;
      return {
        candidates: Array.from({ length: plan.candidates }, (_, index) => candidate(step.parts, index, final)),
        usageMetadata: usage(plan, emitted),
        modelVersion: model,
        responseId,
      };
    });
  }
}

function parseBody(request: RecordedRequest): Json {
  if (!request.body) return {};
  if (request.json === undefined || typeof request.json !== 'object' || Array.isArray(request.json)) {
    throw invalid('Invalid JSON payload received. Unexpected token.', [
      { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ description: 'Invalid JSON payload received. Unexpected token.' }] },
    ]);
  }
  return request.json;
}

function checkFields(object: Json, known: string[], at: string): void {
  for (const key of Object.keys(object)) {
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (known.includes(key) || known.includes(camel)) continue;
    const message = `Invalid JSON payload received. Unknown name "${key}"${at ? ` at '${at}'` : ''}: Cannot find field.`;
    throw invalid(message, [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ ...(at ? { field: at } : {}), description: message }] }]);
  }
}

function checkContents(value: unknown, request: string): Content[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`* ${request}.contents: contents is not specified\n`);
  return value.map((content: Content, i) => {
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      throw invalid(`Invalid value at 'contents[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)`);
    }
    checkFields(content as Json, CONTENT_FIELDS, `contents[${i}]`);
    if (content.role === 'system') throw invalid('Content with system role is not supported.');
    if (content.role && content.role !== 'user' && content.role !== 'model') throw invalid('Please use a valid role: user, model.');
    if (!Array.isArray(content.parts) || content.parts.length === 0) throw invalid(`* ${request}.contents[${i}].parts: contents.parts must not be empty.\n`);
    content.parts.forEach((part, j) => {
      if (typeof part !== 'object' || part === null) throw invalid(`Invalid value at 'contents[${i}].parts[${j}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Part)`);
      checkFields(part, PART_FIELDS, `contents[${i}].parts[${j}]`);
    });
    return content;
  });
}

function textOf(content: Content): string {
  return (content.parts ?? []).filter((p) => typeof p.text === 'string' && !p.thought).map((p) => p.text).join('');
}

function words(text: string, share = 1, cap?: number): string[] {
  const all = text.match(/\S+/g) ?? [];
  const kept = all.slice(0, Math.ceil(all.length * share));
  return cap !== undefined ? kept.slice(0, cap) : kept;
}

/** Prompt tokens: words of every text, function call and function response, 258 per inline blob (as for an image). */
function promptTokens(contents: Content[], system?: Content): number {
  let total = 0;
  for (const content of system ? [...contents, system] : contents) {
    for (const part of content.parts ?? []) {
      if (typeof part.text === 'string') total += words(part.text).length;
      if (part.functionCall) total += words(`${part.functionCall.name} ${JSON.stringify(part.functionCall.args ?? {})}`).length;
      if (part.functionResponse) total += words(`${part.functionResponse.name} ${JSON.stringify(part.functionResponse.response ?? {})}`).length;
      if (part.inlineData) total += 258;
    }
  }
  return total;
}

function argsFor(declaration: FunctionDeclaration): Json {
  const schema = (declaration.parameters ?? declaration.parametersJsonSchema ?? {}) as { properties?: Record<string, { type?: string }>; required?: string[] };
  const properties = schema.properties ?? {};
  const args: Json = {};
  for (const [name, property] of Object.entries(properties)) {
    const type = String(property.type ?? 'string').toLowerCase();
    if (/location|city|place/i.test(name)) args[name] = 'Paris';
    else if (schema.required?.includes(name)) args[name] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : 'test';
  }
  if (Object.keys(properties).length === 0) args.location = 'Paris';
  return args;
}

function modelInfo(id: string): Json {
  const version = versionOf(id);
  const name = id
    .replace(/^gemini-/, 'Gemini ')
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(' ');
  return {
    name: `models/${id}`,
    version: version && version.major >= 3 ? `${version.major}.${version.minor}` : '001',
    displayName: name,
    description: `${name} (mock)`,
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  };
}

/** Google's front end pretty-prints JSON answers and errors. */
function sendGoogle(res: ServerResponse, status: number, payload: unknown): void {
  const text = `${JSON.stringify(payload, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text), vary: 'Origin, X-Origin, Referer' });
  res.end(text);
}
