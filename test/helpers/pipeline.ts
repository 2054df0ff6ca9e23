import { Readable } from 'node:stream';
import { pino } from 'pino';
import { ChatRequest } from '../../src/chat/schema.js';
import { chatDoor } from '../../src/doors/chat/encode.js';
import type { CallContext } from '../../src/pipeline/call.js';
import { planCall } from '../../src/pipeline/plan.js';
import { Fallbacks, type RunEnvironment } from '../../src/pipeline/route-run.js';
import { runStream } from '../../src/pipeline/stream.js';
import { RequestTelemetry } from '../../src/pipeline/telemetry.js';
import type { CallPlan, Door, Prepared } from '../../src/pipeline/types.js';
import type { AnswerPlan } from '../../src/prefill/answer-plan.js';
import { detectPrefill, type PrefillMode } from '../../src/prefill/detect.js';
import { DEFAULT_THINK_TAGS } from '../../src/prefill/reasoning.js';
import { CapabilityMemory } from '../../src/providers/capability-memory.js';
import { RequestSecrets } from '../../src/auth/secrets.js';
import { providerFor, type ProviderId } from '../../src/providers/index.js';
import { SseParser } from '../../src/sse/parser.js';
import { Metrics } from '../../src/telemetry/metrics.js';
import { ClientGone } from '../../src/upstream/client-gone.js';
import type { Upstream } from '../../src/upstream/types.js';

/**
 * Drives the pipeline's pieces without HTTP: plans a call the way a request would get it, and runs
 * recorded upstream bytes through the real stream path (decode → rewrite → door encoding).
 */

/** A request in the request model, parsed as the chat door parses it. */
export const chat = (body: Record<string, unknown>) => ChatRequest.parse(body);

/** The first call a request gets on a provider (prefill detected in `mode`). */
export function planFor(
  provider: ProviderId,
  request: ChatRequest,
  options: { mode?: PrefillMode; fallback?: 'emulate' | 'reject'; raw?: Buffer; supportsPrefill?: boolean } = {},
): CallPlan {
  const settings = { fallback: options.fallback ?? 'emulate', thinkTags: DEFAULT_THINK_TAGS, supportsPrefill: options.supportsPrefill };
  return planCall(providerFor(provider), settings, request, detectPrefill(request, options.mode ?? 'auto'), options.raw);
}

let metrics: Metrics | undefined;
const silent = pino({ level: 'silent' });

export interface StreamedResult {
  /** What the client received, as written. */
  text: string;
  /** The data of each event the client received. */
  events: string[];
  /** The content deltas joined. */
  content: string;
  /** The reasoning deltas joined. */
  reasoning: string;
  done: boolean;
  usage: unknown;
  finishReasons: string[];
}

/**
 * Runs `bytes`, cut into pieces of `pieceSize`, as an upstream's streamed answer through the pipeline,
 * answered through `door` (Chat Completions by default), and returns what the client sees.
 */
export async function streamThrough(
  provider: ProviderId,
  plan: AnswerPlan,
  bytes: Buffer,
  options: { pieceSize?: number; includeUsage?: boolean; door?: Door; request?: ChatRequest; startAfterMs?: number } = {},
): Promise<StreamedResult> {
  const size = options.pieceSize ?? bytes.length;
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  const upstream: Upstream = {
    description: 'recorded stream',
    request: async () => ({
      statusCode: 200,
      headers: { 'content-type': providerFor(provider).answers.streamContentType ?? 'text/event-stream' },
      body: Readable.from(pieces, { objectMode: false }),
    }),
    close: async () => {},
  };
  const request = options.request ?? chat({ messages: [{ role: 'user', content: 'x' }], stream: true });
  const telemetry = new RequestTelemetry((metrics ??= new Metrics()), silent, 'test', performance.now());
  const call: CallContext = {
    provider: providerFor(provider),
    upstream,
    settings: { fallback: 'emulate', thinkTags: DEFAULT_THINK_TAGS },
    headers: {},
    signal: new ClientGone(),
    retry: { retries: 0, baseDelayMs: 0, maxDelayMs: 0 },
    telemetry,
    stream: true,
    memory: new CapabilityMemory(60_000, 10),
    limits: { maxEventBytes: 4 * 1024 * 1024, maxBodyBytes: 32 * 1024 * 1024 },
    secrets: new RequestSecrets([]),
    streams: new Set(),
    learned: { memory: new CapabilityMemory(60_000, 10), key: 'test' },
  };
  const prepared = {
    request: { door: 'chat', chat: request, raw: undefined, headers: {}, options: { stream: true, echo: plan.echo, includeUsage: options.includeUsage ?? true, thinkingBudget: undefined } },
    chat: request,
    prefill: undefined,
    route: { resumeAttempts: 0, fallbacks: [], target: { spec: { name: 'test' } } },
    stage: undefined,
    first: { chat: request, prefill: undefined, plan: { path: '/v1/chat/completions', body: {}, answer: plan } },
  } as unknown as Prepared;
  const env: RunEnvironment = {
    signal: call.signal,
    telemetry,
    limits: call.limits,
    secrets: call.secrets,
    streams: call.streams,
    learned: call.learned.memory,
    prepareFor: () => undefined,
  };
  const result = await runStream({ prepared, call }, options.door ?? chatDoor, env, new Fallbacks(prepared, env));
  if (result.kind !== 'stream') throw new Error(`expected a stream, got ${result.kind}`);
  let text = '';
  const answer = result.body;
  // A client's sink that comes late: what the upstream sent meanwhile is held for it.
  if (options.startAfterMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.startAfterMs));
  await new Promise<void>((resolve) => {
    answer.start({
      write(bytes) {
        text += Buffer.isBuffer(bytes) ? bytes.toString('utf8') : bytes;
        return true;
      },
      end: resolve,
    });
  });
  const events: string[] = [];
  new SseParser((event) => events.push(event.data)).push(text);
  const out: StreamedResult = { text, events, content: '', reasoning: '', done: false, usage: undefined, finishReasons: [] };
  for (const data of events) {
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    const parsed = JSON.parse(data) as {
      choices?: Array<{ delta?: { content?: string | null; reasoning_content?: string }; finish_reason?: string | null }>;
      usage?: unknown;
    };
    for (const choice of parsed.choices ?? []) {
      out.content += choice.delta?.content ?? '';
      out.reasoning += choice.delta?.reasoning_content ?? '';
      if (choice.finish_reason) out.finishReasons.push(choice.finish_reason);
    }
    if (parsed.usage) out.usage = parsed.usage;
  }
  return out;
}
