import { Readable } from 'node:stream';
import { ProxyError, badRequest, upstreamTransportError } from '../errors.js';
import type { Prefill } from '../prefill/detect.js';
import type { Provider } from '../providers/types.js';
import { rewriteCompletion } from '../response/completion.js';
import type { ResponsePlan } from '../response/plan.js';
import { ChatStreamRewriter, type PhaseRecord } from '../response/stream.js';
import { readBodyText } from '../upstream/read-body.js';
import { MAX_UPSTREAM_BODY_BYTES, callChat, type ChatCallContext, type Exchange } from './exchange.js';
import { planChatCall, type UpstreamPlan } from './plan.js';
import type { ChatRequest } from './schema.js';

/**
 * The thinking budget (`reasoning_budget_tokens`). The model thinks in a first call capped at the
 * budget. If it stopped by itself, that is the answer. If the cap cut it off, the proxy continues in a
 * second call through a prefill: the thinking so far, closed (by the proxy if the model had not closed
 * it), plus any answer text so far; the model goes on with the answer. The client sees one response:
 * streamed as reasoning deltas then content deltas with one finish reason, usage summed over the calls,
 * and `max_tokens` bounding the whole. A budget of 0 skips thinking: the first call is the second.
 */

export function budgetOf(chat: ChatRequest, prefill: Prefill | undefined, provider: Provider): number | undefined {
  const budget = chat.reasoning_budget_tokens;
  if (typeof budget !== 'number') return undefined;
  // Thinking already over (a content prefill) leaves nothing to bound; some upstreams bound it themselves.
  if (prefill && prefill.continues === 'content') return undefined;
  if (provider.nativeThinkingBudget) return undefined;
  if (typeof chat.n === 'number' && chat.n > 1) throw badRequest('reasoning_budget_tokens works with one choice: n must be 1.', 'n');
  return budget;
}

interface Phases {
  /** Total completion tokens allowed, when the client set a limit. */
  total: number | undefined;
  first: { chat: ChatRequest; prefill: Prefill | undefined; cap: number } | undefined;
}

/** The capped first call (undefined for a budget of 0). */
export function planPhases(chat: ChatRequest, prefill: Prefill | undefined, budget: number): Phases {
  const total = chat.max_completion_tokens ?? chat.max_tokens ?? undefined;
  if (budget === 0) return { total, first: undefined };
  const cap = total === undefined || total === null ? budget : Math.min(budget, total);
  return { total: total ?? undefined, first: { chat: phaseRequest(chat, chat.messages, cap), prefill, cap } };
}

/** The follow-up call: thinking closed, the answer so far prefilled. */
export function secondPhase(
  chat: ChatRequest,
  prefill: Prefill | undefined,
  reasoning: string,
  content: string,
  remaining: number | undefined,
): { chat: ChatRequest; prefill: Prefill } {
  const history = prefill ? chat.messages.slice(0, prefill.index) : chat.messages;
  const fullReasoning = (prefill?.reasoning ?? '') + reasoning;
  const messages = [...history, { role: 'assistant' as const, content, reasoning_content: fullReasoning }];
  return {
    chat: phaseRequest(chat, messages, remaining),
    prefill: { prefix: content, reasoning: fullReasoning, continues: 'content', index: history.length, trigger: 'thinking_budget' },
  };
}

function phaseRequest(chat: ChatRequest, messages: ChatRequest['messages'], maxTokens: number | undefined): ChatRequest {
  const out: ChatRequest = { ...chat, messages };
  delete out.reasoning_budget_tokens;
  delete out.max_completion_tokens;
  delete out.echo;
  if (maxTokens === undefined) delete out.max_tokens;
  else out.max_tokens = maxTokens;
  // Each call's usage is needed for the sum, whether or not the client asked for it.
  if (chat.stream === true) out.stream_options = { ...(chat.stream_options ?? {}), include_usage: true };
  return out;
}

/** The first phase's answer may carry thinking in tags at its start: split it off whatever the provider. */
function withThinkingSplit(plan: UpstreamPlan, context: ChatCallContext): UpstreamPlan {
  if (plan.response.thinkingInContent) return plan;
  return { ...plan, response: { ...plan.response, thinkingInContent: { tags: context.settings.thinkTags, startsInside: false } } };
}

export async function planAndCall(
  context: ChatCallContext,
  chat: ChatRequest,
  prefill: Prefill | undefined,
  detectThinking: boolean,
): Promise<Exchange> {
  let plan = planChatCall(context.provider, context.settings, chat, prefill, undefined);
  if (detectThinking) plan = withThinkingSplit(plan, context);
  return callChat(context, chat, prefill, plan);
}

type Usage = Record<string, unknown>;

function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  const sum: Usage = { ...a };
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    sum[key] = (Number(a[key]) || 0) + (Number(b[key]) || 0);
  }
  return sum;
}

function tokensLeft(total: number | undefined, usage: Usage | undefined, cap: number): number | undefined {
  if (total === undefined) return undefined;
  const used = Number(usage?.completion_tokens);
  return Math.max(0, total - (Number.isFinite(used) && used > 0 ? used : cap));
}

// ---------------------------------------------------------------------------------------------------
// Whole answers

export async function budgetCompletion(
  context: ChatCallContext,
  chat: ChatRequest,
  prefill: Prefill | undefined,
  budget: number,
  translate: ((body: unknown) => Record<string, unknown>) | undefined,
): Promise<{ completion: Record<string, unknown>; kind: ResponsePlan['kind'] }> {
  const phases = planPhases(chat, prefill, budget);
  let reasoning = '';
  let content = '';
  let usage: Usage | undefined;
  let first: Record<string, unknown> | undefined;
  let kind: ResponsePlan['kind'] = prefill ? 'native' : 'none';
  if (phases.first) {
    const exchange = await planAndCall(context, phases.first.chat, phases.first.prefill, true);
    kind = exchange.plan.response.kind;
    first = await readCompletion(exchange, translate);
    const choice = (first.choices as Array<{ message?: { content?: string | null; reasoning_content?: string }; finish_reason?: string }>)[0];
    reasoning = choice?.message?.reasoning_content ?? '';
    content = choice?.message?.content ?? '';
    usage = first.usage as Usage | undefined;
    const remaining = tokensLeft(phases.total, usage, phases.first.cap);
    if (choice?.finish_reason !== 'length' || remaining === 0) return { completion: finish(first, chat, prefill, reasoning, content, usage), kind };
  }
  const remaining = phases.first ? tokensLeft(phases.total, usage, phases.first.cap) : phases.total;
  const second = secondPhase(chat, prefill, reasoning, content, remaining);
  const exchange = await planAndCall(context, second.chat, second.prefill, false);
  if (!phases.first) kind = exchange.plan.response.kind;
  const next = await readCompletion(exchange, translate);
  const choice = (next.choices as Array<{ message?: { content?: string | null }; finish_reason?: string }>)[0];
  const merged = finish(first ?? next, chat, prefill, reasoning, content + (choice?.message?.content ?? ''), addUsage(usage, next.usage as Usage));
  (merged.choices as Array<{ finish_reason?: unknown }>)[0]!.finish_reason = choice?.finish_reason ?? 'stop';
  return { completion: merged, kind };
}

async function readCompletion(exchange: Exchange, translate: ((body: unknown) => Record<string, unknown>) | undefined): Promise<Record<string, unknown>> {
  const text = await readBodyText(exchange.response.body, MAX_UPSTREAM_BODY_BYTES);
  let completion: Record<string, unknown>;
  try {
    completion = JSON.parse(text) as Record<string, unknown>;
    if (translate) completion = translate(completion);
  } catch (err) {
    throw new ProxyError(502, 'The upstream answered with a body that is not valid JSON.', { code: 'upstream_invalid_response', cause: err });
  }
  rewriteCompletion(completion, { ...exchange.plan.response, echo: false });
  return completion;
}

/** One message out of the phases, with the client's prefixes in front when it asked for echo. */
function finish(
  base: Record<string, unknown>,
  chat: ChatRequest,
  prefill: Prefill | undefined,
  reasoning: string,
  content: string,
  usage: Usage | undefined,
): Record<string, unknown> {
  const echo = chat.echo === true;
  const message: Record<string, unknown> = { role: 'assistant', content: (echo ? (prefill?.prefix ?? '') : '') + content };
  const fullReasoning = (echo ? (prefill?.reasoning ?? '') : '') + reasoning;
  if (fullReasoning.length > 0) message.reasoning_content = fullReasoning;
  const choices = base.choices as Array<Record<string, unknown>>;
  return { ...base, choices: [{ ...choices[0], index: 0, message }], usage };
}

// ---------------------------------------------------------------------------------------------------
// Streams

/**
 * The client's one stream over the phases. The first call has already answered (its errors were
 * HTTP errors); a failure after that becomes an error event, never a clean end.
 */
export function budgetStream(
  context: ChatCallContext,
  chat: ChatRequest,
  prefill: Prefill | undefined,
  budget: number,
  opening: Exchange,
  translator: () => import('../providers/types.js').StreamTranslator | undefined,
  onFailure: (error: ProxyError) => void,
): Readable {
  const phases = planPhases(chat, prefill, budget);
  const wantsUsage = chat.stream_options?.include_usage === true;

  async function* run(): AsyncGenerator<string | Buffer> {
    let record: PhaseRecord | undefined;
    let usage: Usage | undefined;
    let identity: PhaseRecord['identity'];
    try {
      let exchange = opening;
      let cap = phases.first?.cap ?? 0;
      let isFirst = true;
      let reasoning = '';
      let content = '';
      for (;;) {
        const plan = isFirst ? { ...exchange.plan.response, echo: chat.echo === true } : { ...exchange.plan.response, echo: false };
        const rewriter = new ChatStreamRewriter(plan, translator(), { continuation: identity });
        for await (const chunk of exchange.response.body as AsyncIterable<Buffer>) {
          const out = rewriter.write(chunk);
          if (out.length > 0) yield out;
        }
        const tail = rewriter.end();
        if (tail.length > 0) yield tail;
        record = rewriter.record;
        if (record.failed) return;
        identity ??= record.identity;
        usage = addUsage(usage, record.usage);
        // What the client saw of the echoed prefixes is not the model's own text.
        const echoedReasoning = isFirst && chat.echo === true ? (prefill?.reasoning ?? '') : '';
        const echoedContent = isFirst && chat.echo === true ? (prefill?.prefix ?? '') : '';
        reasoning += record.reasoning.slice(echoedReasoning.length);
        content += record.content.slice(echoedContent.length);
        const remaining = isFirst && phases.first ? tokensLeft(phases.total, record.usage, cap) : 0;
        const continueAnswer = isFirst && phases.first !== undefined && record.finishReason === 'length' && remaining !== 0;
        if (!continueAnswer) break;
        const second = secondPhase(chat, prefill, reasoning, content, remaining);
        exchange = await planAndCall(context, { ...second.chat, stream: true }, second.prefill, false);
        cap = remaining ?? 0;
        isFirst = false;
      }
      const base = { id: identity?.id, object: 'chat.completion.chunk', created: identity?.created, model: identity?.model };
      yield `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: record?.finishReason ?? 'stop' }] })}\n\n`;
      if (wantsUsage && usage) yield `data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`;
      yield 'data: [DONE]\n\n';
    } catch (err) {
      if (context.signal.aborted) return;
      const error = err instanceof ProxyError ? err : upstreamTransportError(err);
      onFailure(error);
      yield `data: ${JSON.stringify({ error: { ...error.toJSON().error, message: `Upstream stream failed: ${error.message}` } })}\n\n`;
    }
  }
  return Readable.from(run(), { objectMode: false });
}

/** The opening call of a budgeted request: the capped thinking call, or (budget 0) the answer call. */
export async function openBudget(
  context: ChatCallContext,
  chat: ChatRequest,
  prefill: Prefill | undefined,
  budget: number,
): Promise<Exchange> {
  const phases = planPhases(chat, prefill, budget);
  if (phases.first) return planAndCall(context, phases.first.chat, phases.first.prefill, true);
  const second = secondPhase(chat, prefill, '', '', phases.total);
  return planAndCall(context, second.chat, second.prefill, false);
}
