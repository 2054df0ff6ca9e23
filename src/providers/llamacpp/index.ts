import type { ChatRequest } from '../../chat/schema.js';
import type { Prefill } from '../../prefill/detect.js';
import type { ThinkTags } from '../../prefill/reasoning.js';
import { jsonBodyOf, type JsonBody, type Provider, type ProviderCallContext, type UpstreamCall } from '../types.js';
import { CONTINUE_FINAL_MESSAGE, OPENAI_STYLE, asClientBytes, mergeTrailingAssistantTurns, withTrailingAssistant } from '../openai-chat/request.js';
import { completionAnswers, completionBody } from './completion.js';
import { knownTemplateFacts, templateFacts, type TemplateFacts } from './template.js';

/**
 * llama.cpp's `llama-server`.
 *
 * The chat form: a trailing assistant message with `continue_final_message: true` and
 * `add_generation_prompt: false` (2026 builds reject the first without the second; June 2025 builds
 * ignore it and continue a trailing assistant message anyway). Whether the prefix comes back differs
 * by build (June 2025: never; September 2026: in whole answers, and glued to the first streamed delta
 * unless continue_final_message is sent; the reasoning prefix too), so the proxy strips exactly the
 * prefix when, and only when, it is there.
 *
 * What a server can render depends on its build and chat template, so it is learned from the server's
 * own `/apply-template` once (template.ts). Where the chat form cannot say it — a thinking template on
 * a build that drops `reasoning_content` (June 2025), thinking closed with no answer begun yet (the
 * thinking budget's follow-up, which every build reads as "go on thinking"), or a June 2025 server
 * started with `--no-prefill-assistant` (it closes the turn) — the call takes llama.cpp's
 * raw route: the server's template renders the conversation up to the assistant's turn, the proxy
 * appends the partial turn, and `/completion` continues it (completion.ts).
 */
export const llamacpp: Provider = {
  ...OPENAI_STYLE,
  id: 'llamacpp',
  noNewTurnAfterAssistant: true,
  closesConnectionAfterStream: true,
  nativeForm: 'trailing assistant message + continue_final_message/add_generation_prompt=false (raw /apply-template + /completion where the build cannot)',
  forwardRequest(request, rewritten) {
    const fixed = withLlamaCppFixes(request);
    if (fixed !== request || rewritten) return { body: fixed as JsonBody };
    return undefined;
  },
  prefillRequest(request, prefill, options) {
    const fixed = withLlamaCppFixes(request);
    // Nothing to fix or merge: the client's bytes plus the two fields.
    const asSent = fixed === request && !endsWithTwoAssistantTurns(request) ? asClientBytes(request, prefill, { raw: options.raw, bodyExtras: CONTINUE_FINAL_MESSAGE, mayRepeat: true }) : undefined;
    return asSent ?? chatForm(fixed, prefill, 'native', options.thinkTags);
  },
  prepareCall(context, request, prefill, call, options) {
    // Known after the first call: decided without a promise (this runs on every llama.cpp prefill).
    const known = knownTemplateFacts(context);
    if (known) return forTemplate(known.facts, context, request, prefill, call, options);
    return templateFacts(context, options.thinkTags.open).then((facts) => forTemplate(facts, context, request, prefill, call, options));
  },
  recoverFromError(status, errorText, sent) {
    // Builds before mid-2025 refuse prefill for thinking models unless thinking is switched off.
    if (status !== 400 || !errorText.includes('incompatible with enable_thinking')) return undefined;
    const body = jsonBodyOf(sent);
    const current = body.chat_template_kwargs;
    const kwargs = typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
    if (kwargs.enable_thinking === false) return undefined;
    return { retryBody: { ...body, chat_template_kwargs: { ...kwargs, enable_thinking: false } } };
  },
};

/** The call as this server's template needs it (facts undefined: no `/apply-template`, sent as planned). */
function forTemplate(facts: TemplateFacts | undefined, context: ProviderCallContext, request: ChatRequest, prefill: Prefill, call: UpstreamCall, options: { thinkTags: ThinkTags }): UpstreamCall | Promise<UpstreamCall> {
  if (!facts) return call;
  const closedWithoutAnswer = prefill.reasoning !== undefined && prefill.continues === 'content' && prefill.prefix.length === 0;
  if (!facts.continuesFinal || (facts.thinking && (!facts.rendersReasoning || closedWithoutAnswer))) {
    return rawRoute(context, request, call, prefill, options.thinkTags).then((raw) => raw ?? call);
  }
  if (!facts.rendersReasoning && prefill.reasoning !== undefined) {
    // A template without reasoning: the thinking goes in the content, in the model's tags.
    const tagged = chatForm(withLlamaCppFixes(request), prefill, 'tags', options.thinkTags);
    return {
      ...call,
      body: tagged.body,
      answer: {
        ...call.answer,
        repeated: tagged.repeated ? { text: tagged.repeated, skipLeadingWhitespace: false } : undefined,
        thinkingInContent: tagged.thinkingInContent ? { tags: options.thinkTags, ...tagged.thinkingInContent } : undefined,
      },
    };
  }
  return call;
}

/** The last two messages are assistant turns that mergeTrailingAssistantTurns would make one. */
function endsWithTwoAssistantTurns(request: ChatRequest): boolean {
  const previous = request.messages[request.messages.length - 2];
  return previous?.role === 'assistant' && !(Array.isArray(previous.tool_calls) && previous.tool_calls.length > 0);
}

/**
 * The chat form of a prefill: the trailing assistant message (two trailing assistant messages, which
 * llama.cpp refuses, merged into one turn), with what may come back repeated.
 */
function chatForm(request: ChatRequest, prefill: Prefill, reasoning: 'native' | 'tags', thinkTags: ThinkTags) {
  const body = withTrailingAssistant(request, prefill, {
    bodyExtras: CONTINUE_FINAL_MESSAGE,
    reasoning,
    thinkTags,
  });
  const merged = mergeTrailingAssistantTurns(body);
  const repeated = merged.finalText ?? prefill.prefix;
  const tagged = reasoning === 'tags' && prefill.reasoning !== undefined;
  return {
    body: merged.body,
    repeated: repeated.length > 0 ? repeated : undefined,
    // 2026 builds give the reasoning prefix back in front of the reasoning of whole answers.
    repeatedReasoning: prefill.reasoning !== undefined && !tagged ? { text: prefill.reasoning, closed: prefill.continues === 'content' } : undefined,
    thinkingInContent: tagged && prefill.continues === 'reasoning' ? { startsInside: true } : undefined,
  };
}

/**
 * What every request to llama.cpp gets: `max_tokens` for `max_completion_tokens` (June 2025 builds
 * ignore the latter and generate until the context is full), and no empty assistant message at the
 * end (2026 builds drop it together with the generation prompt, which degrades the answer).
 */
function withLlamaCppFixes(request: ChatRequest): ChatRequest {
  let out = request;
  if (typeof request.max_completion_tokens === 'number' && request.max_tokens === undefined) {
    out = { ...out, max_tokens: request.max_completion_tokens };
    delete out.max_completion_tokens;
  }
  const last = request.messages[request.messages.length - 1];
  const emptyAssistant =
    last?.role === 'assistant' &&
    (last.content === undefined || last.content === null || last.content === '' || (Array.isArray(last.content) && last.content.length === 0)) &&
    !(Array.isArray(last.tool_calls) && last.tool_calls.length > 0) &&
    !last.reasoning_content &&
    request.messages.length > 1;
  if (emptyAssistant) out = { ...out, messages: request.messages.slice(0, -1) };
  return out;
}

/**
 * The raw route: `/apply-template` renders the conversation up to the assistant's turn (the generation
 * prompt included: a thinking template opens its thinking there), the partial turn is appended as the
 * server's template would render it, and `/completion` continues the text. Undefined when the server
 * cannot (no `/apply-template`, several choices asked for): the chat form goes instead.
 */
async function rawRoute(context: ProviderCallContext, request: ChatRequest, call: UpstreamCall, prefill: Prefill, tags: ThinkTags): Promise<UpstreamCall | undefined> {
  if (typeof request.n === 'number' && request.n > 1) return undefined;
  const body = jsonBodyOf(call.body);
  const messages = body.messages as Array<Record<string, unknown>>;
  const last = messages[messages.length - 1]!;
  const rendered: JsonBody = { messages: messages.slice(0, -1), add_generation_prompt: true };
  for (const field of ['tools', 'chat_template_kwargs'] as const) if (body[field] !== undefined) rendered[field] = body[field];
  const answer = await context.sideRequest('/apply-template', rendered);
  const generationPrompt = (answer.body as { prompt?: unknown } | undefined)?.prompt;
  if (answer.status !== 200 || typeof generationPrompt !== 'string') return undefined;
  const prefix = typeof last.content === 'string' ? last.content : prefill.prefix;
  const continuation = continuationPrompt(generationPrompt, prefix, prefill, tags);
  return {
    path: '/completion',
    body: completionBody(request, continuation.prompt),
    answers: completionAnswers,
    answer: {
      ...call.answer,
      // /completion gives the continuation only.
      repeated: undefined,
      repeatedReasoning: undefined,
      thinkingInContent: continuation.startsInside ? { tags, startsInside: true } : undefined,
    },
  };
}

/**
 * The generation prompt continued by the partial turn, as the model would have written it: still
 * thinking (a reasoning prefix), or with the thinking closed (`\n</think>\n\n`, as templates render a
 * finished thought) and the answer begun.
 */
export function continuationPrompt(generationPrompt: string, prefix: string, prefill: Prefill, tags: ThinkTags): { prompt: string; startsInside: boolean } {
  const opensThinking = generationPrompt.trimEnd().endsWith(tags.open);
  if (prefill.continues === 'reasoning') {
    return { prompt: generationPrompt + (opensThinking ? '' : `${tags.open}\n`) + (prefill.reasoning ?? ''), startsInside: true };
  }
  const thought = prefill.reasoning?.replace(/^\n+|\n+$/g, '');
  if (opensThinking) return { prompt: `${generationPrompt}${thought ?? ''}\n${tags.close}\n\n${prefix}`, startsInside: false };
  if (thought !== undefined) return { prompt: `${generationPrompt}${tags.open}\n${thought}\n${tags.close}\n\n${prefix}`, startsInside: false };
  return { prompt: generationPrompt + prefix, startsInside: false };
}
