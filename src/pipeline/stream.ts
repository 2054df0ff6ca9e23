import type { AnswerEvent, Usage } from '../answer/types.js';
import { addUsage } from '../answer/usage.js';
import { ProxyError, proxyError, upstreamTransportError } from '../errors.js';
import { needsRewrite } from '../prefill/answer-plan.js';
import type { StreamDecoder } from '../providers/types.js';
import { clientResponseHeaders } from '../upstream/headers.js';
import { abandonBody } from '../upstream/read-body.js';
import { callUpstream, type Exchange } from './call.js';
import { clientLimit, withSoFarPrefilled } from './follow-up.js';
import { planCall } from './plan.js';
import { AnswerRewriter } from './rewrite.js';
import type { Fallbacks, RouteRun, RunEnvironment } from './route-run.js';
import type { AnswerSink, Door, PipelineResult, PlannedCall, SoFar, StreamedAnswer, StreamEncoder } from './types.js';

/**
 * A streamed answer. The first call is made before anything is written (its failures are HTTP
 * errors, and may take a configured fallback); from then on the client gets one stream in its door's
 * format, whatever happens upstream.
 */
export async function runStream(run: RouteRun, door: Door, env: RunEnvironment, fallbacks: Fallbacks): Promise<PipelineResult> {
  const { call, prepared } = run;
  const { first } = prepared;
  const exchange = await callUpstream(call, first.chat, first.prefill, first.plan);
  const headers = clientResponseHeaders(exchange.response.headers);
  delete headers['content-encoding'];
  const body = new AnswerStream(run, door, door.streamEncoder(prepared), env, fallbacks, first, exchange);
  return { kind: 'stream', status: exchange.response.statusCode, headers, body, prefill: exchange.plan.answer.kind };
}

/** One upstream call, and the calls that resumed it after a failure: one call as far as stages go. */
interface LogicalCall {
  planned: PlannedCall;
  /** Deltas of choice 0 (about one token each), to keep a resumed call within the call's own cap. */
  deltas: number;
  usage: Usage | undefined;
}

/** One upstream call's part of the stream. */
interface CallState {
  planned: PlannedCall;
  logical: LogicalCall;
  exchange: Exchange;
  decoder: StreamDecoder | undefined;
  rewriter: AnswerRewriter;
  /** Bytes pass untouched (up to the last complete event), without parsing. */
  raw: boolean;
  /** Raw mode: the incomplete event at the end of what arrived, held until its end comes. */
  tail: Buffer[];
  tailBytes: number;
  /** Raw mode: what was passed on, kept (bounded) so a resume can read what the client has. */
  sent: Buffer[] | undefined;
  sentBytes: number;
  /** The upstream's end-of-stream marker was seen. */
  done: boolean;
  finishReason: string | null;
  usage: Usage | undefined;
  failure: ProxyError | undefined;
  /** A tool call began (choice 0): the answer cannot be resumed mid-way. */
  toolCall: boolean;
  /** Replaced by a resume: whatever its source still does (the error of its teardown) is ignored. */
  retired: boolean;
  isFirst: boolean;
}

/** The blank line that ends an SSE event (LF line ends). */
const EVENT_END = Buffer.from('\n\n');

/** Failures a resume can mend: the upstream broke off, stalled, or reported an error mid-stream. */
const NOT_RESUMABLE = new Set(['server_shutting_down', 'upstream_event_too_large', 'client_closed_request']);

/**
 * The client's stream: upstream bytes in, the door's bytes out, event by event as they arrive (never
 * buffered whole). Where the door speaks the upstream's format and nothing needs rewriting, the bytes
 * pass untouched; otherwise the upstream's events are decoded, rewritten and encoded. A follow-up
 * stage may chain further calls into the same stream, with no seam.
 *
 * If the upstream fails mid-way, the answer is resumed (RESUME_ATTEMPTS): the same request is asked
 * again with everything the client already has as a prefill, and the stream goes on with no seam —
 * on the same upstream, else on the model's configured fallbacks. When it cannot be resumed, the
 * client gets the door's error event and no closing marker, so a truncated answer is never mistaken
 * for a complete one. Driven by the source's events, it writes into the door's sink (the client's
 * response) itself: an async generator here would cost two promises per event, and a Readable piped
 * to the response a buffer, a tick and the pipe's listeners per chunk, on the proxy's hottest path.
 */
class AnswerStream implements StreamedAnswer {
  private current: CallState;
  private finished = false;
  private out = '';
  private sink: AnswerSink | undefined;
  /** What was ready before the sink came (the upstream is paused meanwhile). */
  private held: Array<string | Buffer> = [];
  /** The answer ended before the sink came. */
  private endHeld = false;
  private usage: Usage | undefined;
  /** Choice 0 as the client received it, echo included. */
  private readonly received = { content: '', reasoning: '' };
  /** The echo at the front of `received` (not the model's own text). */
  private readonly echoed: { content: string; reasoning: string };
  private readonly soFar: SoFar = { reasoning: '', content: '', finishReason: null, completionTokens: 0, lastCallTokens: undefined, calls: 0 };
  private readonly multiCall: boolean;
  private resumesLeft: number;
  /** The proxy closed the thinking (the budget): what follows is the answer, even before any content. */
  private thinkingClosed = false;

  constructor(
    private run: RouteRun,
    private readonly door: Door,
    private readonly encoder: StreamEncoder,
    private readonly env: RunEnvironment,
    private readonly fallbacks: Fallbacks,
    first: PlannedCall,
    exchange: Exchange,
  ) {
    const { prepared } = run;
    const options = prepared.request.options;
    this.multiCall = prepared.stage !== undefined;
    const manyChoices = typeof prepared.chat.n === 'number' && prepared.chat.n > 1;
    this.resumesLeft = manyChoices ? 0 : prepared.route.resumeAttempts;
    this.echoed = options.echo ? { content: prepared.prefill?.prefix ?? '', reasoning: prepared.prefill?.reasoning ?? '' } : { content: '', reasoning: '' };
    this.current = this.attach(first, { planned: first, deltas: 0, usage: undefined }, exchange, true);
    env.streams.add(this);
  }

  private get call() {
    return this.run.call;
  }

  /** The process is stopping before this answer could finish: the client is told so, not left cut. */
  shutdown(): void {
    this.fail(proxyError('server_shutting_down', 'The proxy is shutting down; the answer was cut before it was complete.'));
  }

  start(sink: AnswerSink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    let ready = true;
    if (held.length > 0) this.call.telemetry.firstByte();
    for (const bytes of held) ready = sink.write(bytes);
    if (this.endHeld) return sink.end();
    if (ready) this.drained();
  }

  drained(): void {
    if (!this.finished) this.current.exchange.response.body.resume();
  }

  abandon(): void {
    this.finished = true;
    this.env.streams.delete(this);
    const source = this.current.exchange.response.body;
    if (!source.destroyed) source.destroy();
  }

  private attach(planned: PlannedCall, logical: LogicalCall, exchange: Exchange, isFirst: boolean): CallState {
    const plan = exchange.plan.answer;
    const answers = exchange.plan.answers ?? this.call.provider.answers;
    const sameWire = this.door.wire === answers.wire;
    const raw = sameWire && !this.multiCall && isFirst && !needsRewrite(plan);
    // The first call gives the client's echo (a stage's calls are asked without it); later calls never do.
    const answerPlan = isFirst ? { ...plan, echo: this.run.prepared.request.options.echo } : { ...plan, echo: false };
    if (planned.prefill?.continues === 'content' && planned.prefill.reasoning !== undefined) this.thinkingClosed = true;
    const state: CallState = {
      planned,
      logical,
      exchange,
      decoder: undefined,
      rewriter: new AnswerRewriter(answerPlan),
      raw,
      tail: [],
      tailBytes: 0,
      sent: raw && this.resumesLeft > 0 ? [] : undefined,
      sentBytes: 0,
      done: false,
      finishReason: null,
      usage: undefined,
      failure: undefined,
      toolCall: false,
      retired: false,
      isFirst,
    };
    if (!raw) state.decoder = answers.stream(planned.chat, (event) => this.onEvent(state, event), { maxEventBytes: this.call.limits.maxEventBytes });
    const source = exchange.response.body;
    source.on('data', (chunk: Buffer) => this.onData(state, chunk));
    source.once('end', () => this.onEnd(state));
    source.on('error', (err: Error) => this.onSourceError(state, err));
    return state;
  }

  private onData(state: CallState, chunk: Buffer): void {
    if (this.finished || state !== this.current || state.retired) return;
    if (state.raw) return this.forwardRaw(state, chunk);
    // Once the answer is settled, the rest of a stream in the door's own format needs nothing (its
    // end included: once the end has begun, finish it here). An upstream may send many events in one
    // chunk (a burst, or a fast server's batch): they are read one by one, so the rest of the chunk
    // passes untouched from the event that settled it. (Only for chunks with LF line ends, the usual
    // ones: a chunk with CR is read whole, and the switch waits for the next chunk.)
    const mayPass = !this.multiCall && state.isFirst && this.door.wire === (state.exchange.plan.answers ?? this.call.provider.answers).wire;
    let offset = 0;
    if (mayPass && chunk.indexOf(13) === -1) {
      for (let end = chunk.indexOf(EVENT_END, offset); end !== -1; end = chunk.indexOf(EVENT_END, offset)) {
        state.decoder!.write(chunk.subarray(offset, end + 2));
        offset = end + 2;
        if (state.failure) return this.onFailure(state.failure);
        if (this.passFromHere(state)) {
          this.flushOut();
          if (offset < chunk.length) this.forwardRaw(state, chunk.subarray(offset));
          return;
        }
      }
    }
    if (offset < chunk.length) state.decoder!.write(offset === 0 ? chunk : chunk.subarray(offset));
    if (state.failure) return this.onFailure(state.failure);
    if (mayPass) this.passFromHere(state);
    this.flushOut();
  }

  /** Switches to passing bytes untouched when the answer is settled, at an event boundary, before its end. */
  private passFromHere(state: CallState): boolean {
    const endBegun = state.done || state.usage !== undefined || state.finishReason !== null;
    if (endBegun || !state.decoder!.atEventBoundary || !state.rewriter.settled) return false;
    state.raw = true;
    if (this.resumesLeft > 0) state.sent = [];
    return true;
  }

  /** Raw mode: passes bytes on up to the last complete event, holding an incomplete one. */
  private forwardRaw(state: CallState, chunk: Buffer): void {
    let end = lastEventEnd(chunk);
    // An event's blank line may be split between this chunk and what is held.
    if (end === -1 && state.tailBytes > 0) end = endAcrossJunction(state.tail[state.tail.length - 1]!, chunk);
    if (end === -1) {
      state.tail.push(chunk);
      state.tailBytes += chunk.length;
      const max = this.call.limits.maxEventBytes;
      if (state.tailBytes > max) {
        this.fail(proxyError('upstream_event_too_large', `The upstream sent a stream event larger than ${max} bytes (UPSTREAM_MAX_EVENT_BYTES).`));
      }
      return;
    }
    let ready: Buffer = end === chunk.length ? chunk : chunk.subarray(0, end);
    if (state.tail.length > 0) {
      ready = Buffer.concat([...state.tail, ready]);
      state.tail = [];
      state.tailBytes = 0;
    }
    if (end < chunk.length) {
      state.tail.push(chunk.subarray(end));
      state.tailBytes = chunk.length - end;
    }
    // A rewritten stream gives its usage as the door's own final chunk, whatever the upstream's habit
    // (usage on a content or finish chunk, or when not asked for): from the first usage on, read it.
    if (state.decoder && holdsUsageKey(ready)) {
      state.raw = false;
      this.readAfterRaw(state, ready);
      return;
    }
    state.done ||= (state.exchange.plan.answers ?? this.call.provider.answers).endsWithTerminator(ready);
    // Kept (bounded) for a resume: what the client has is then read from these bytes.
    if (state.sent) {
      state.sentBytes += ready.length;
      if (state.sentBytes <= this.call.limits.maxBodyBytes) state.sent.push(ready);
      else state.sent = undefined;
    }
    // An upstream that echoes a key in what it streams (an error event) does not get it to the client.
    this.send(this.call.secrets.empty ? ready : this.call.secrets.redactBytes(ready));
  }

  /** Back from raw mode to reading events (see forwardRaw): what was passed untouched is accounted for first. */
  private readAfterRaw(state: CallState, ready: Buffer): void {
    this.absorbSent(state);
    state.decoder!.write(ready);
    for (const piece of state.tail) state.decoder!.write(piece);
    state.tail = [];
    state.tailBytes = 0;
    if (state.failure) return this.onFailure(state.failure);
    this.flushOut();
  }

  /**
   * What raw mode passed untouched, read now (only when it matters: a resume, or leaving raw mode):
   * the text the client has, and the encoder brought up to date with it (its output discarded: the
   * client already has those bytes).
   */
  private absorbSent(state: CallState): void {
    const sent = state.sent;
    state.sent = undefined;
    if (!sent || sent.length === 0) return;
    const answers = state.exchange.plan.answers ?? this.call.provider.answers;
    const replay = answers.stream(state.planned.chat, (event) => {
      if (event.type === 'delta' && event.index === 0) {
        if (event.toolCalls) state.toolCall = true;
        this.count(state, event);
      }
      if (event.type === 'finish' && event.index === 0) state.finishReason = event.reason;
      void this.encoder.event(event);
    }, { maxEventBytes: this.call.limits.maxEventBytes });
    for (const piece of sent) replay.write(piece);
  }

  private onEvent(state: CallState, event: AnswerEvent): void {
    if (state.failure) return;
    switch (event.type) {
      case 'start':
        if (state.isFirst) this.out += this.encoder.event(event);
        return;
      case 'delta': {
        // A later call speaks under the first call's identity, without announcing the role again.
        if (!state.isFirst) delete event.role;
        if (event.index === 0 && event.toolCalls) state.toolCall = true;
        if (!state.rewriter.delta(event)) return;
        if (event.index === 0) this.count(state, event);
        this.out += this.encoder.event(event);
        return;
      }
      case 'finish': {
        this.release(state, state.rewriter.flush(event.index));
        if (event.index === 0) state.finishReason = event.reason;
        // With a stage, whether this is the answer's end is decided when the call ends.
        if (!this.multiCall) this.out += this.encoder.event(event);
        return;
      }
      case 'usage':
        state.usage = event.usage;
        return;
      case 'done':
        state.done = true;
        return;
      case 'error':
        state.failure = new ProxyError(event.error.status, event.error.message, { type: event.error.type, code: event.error.code, param: event.error.param });
        return;
      default: {
        const unexpected: never = event;
        throw new Error(`unknown answer event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  /** Choice 0's text as the client receives it. */
  private count(state: CallState, event: Extract<AnswerEvent, { type: 'delta' }>): void {
    if (event.content) this.received.content += event.content;
    if (event.reasoning) this.received.reasoning += event.reasoning;
    if (event.content || event.reasoning) state.logical.deltas++;
  }

  /** Held text released: what the client has not seen yet. */
  private release(state: CallState, event: Extract<AnswerEvent, { type: 'delta' }> | undefined): void {
    if (!event) return;
    if (event.index === 0) this.count(state, event);
    this.out += this.encoder.event(event);
  }

  private onEnd(state: CallState): void {
    if (this.finished || state !== this.current || state.retired) return;
    if (state.raw) {
      if (state.tail.length > 0 || !state.done) return this.onFailure(truncated());
      return this.close();
    }
    state.decoder!.end();
    if (state.failure) return this.onFailure(state.failure);
    for (const event of state.rewriter.flushAll()) this.release(state, event);
    if (!state.done) return this.onFailure(truncated());
    this.callEnded(state);
  }

  private callEnded(state: CallState): void {
    this.usage = addUsage(this.usage, state.usage);
    const logical = state.logical;
    logical.usage = addUsage(logical.usage, state.usage);
    const soFar = this.soFar;
    soFar.content = this.received.content.slice(this.echoed.content.length);
    soFar.reasoning = this.received.reasoning.slice(this.echoed.reasoning.length);
    // A resumed call and the call it resumed are one call for the stages.
    if (logical.planned === state.planned) soFar.calls++;
    soFar.finishReason = state.finishReason;
    soFar.lastCallTokens = logical.usage?.completion_tokens;
    soFar.completionTokens += state.usage?.completion_tokens ?? 0;
    const following = this.run.prepared.stage?.next(soFar);
    if (!following) return this.finishAnswer();
    this.flushOut();
    const planned: PlannedCall = {
      ...following,
      chat: { ...following.chat, stream: true },
      plan: planCall(this.call.provider, this.call.settings, { ...following.chat, stream: true }, following.prefill, undefined),
    };
    this.callNext(planned, { planned, deltas: 0, usage: undefined }, this.current.failure);
  }

  /** Starts the next call (a stage's, or a resume) and attaches it when it answers. */
  private callNext(planned: PlannedCall, logical: LogicalCall, original: ProxyError | undefined): void {
    const run = this.run;
    run.call.telemetry.upstreamStarted(run.prepared.route.target.spec.name);
    callUpstream(run.call, planned.chat, planned.prefill, planned.plan).then(
      (exchange) => {
        if (this.finished) {
          abandonBody(exchange.response.body);
          return;
        }
        this.current = this.attach(planned, logical, exchange, false);
      },
      (err: unknown) => {
        const error = err instanceof ProxyError ? err : upstreamTransportError(err);
        // A resume that failed before its answer began may go on a fallback model's upstream.
        if (original && this.resumeOnFallback(error)) return;
        this.fail(original ?? error);
      },
    );
  }

  /** The answer is complete: its end, in the door's format. */
  private finishAnswer(): void {
    if (this.multiCall) this.out += this.encoder.event({ type: 'finish', index: 0, reason: (this.soFar.finishReason ?? 'stop') as 'stop' });
    if (this.usage && this.run.prepared.request.options.includeUsage) this.out += this.encoder.event({ type: 'usage', usage: this.usage });
    this.out += this.encoder.end();
    this.close();
  }

  private close(): void {
    this.flushOut();
    this.finished = true;
    this.env.streams.delete(this);
    this.end();
  }

  private onSourceError(state: CallState, err: Error): void {
    if (this.finished || state !== this.current || state.retired) return;
    // The client left and its abort tore the upstream body down: nobody is there to tell.
    if (this.env.signal.aborted) return this.abandon();
    const error = upstreamTransportError(err);
    this.onFailure(new ProxyError(error.status, `Upstream stream failed: ${error.message}`, { type: error.type, code: error.code, cause: err }));
  }

  /** The upstream failed mid-answer: resume it if it can be, else tell the client. */
  private onFailure(error: ProxyError): void {
    if (this.finished) return;
    if (!this.resumeAnswer(error)) this.fail(error);
  }

  /**
   * Asks again with everything the client already has (reasoning and content) as a prefill, and goes
   * on with the same stream. Not for a client that went away, several choices, an answer that ended
   * (its finish reason came) or broke off inside a tool call, nor without attempts left.
   */
  private resumeAnswer(error: ProxyError, run: RouteRun = this.run): boolean {
    const state = this.current;
    if (this.resumesLeft <= 0 || this.env.signal.aborted || NOT_RESUMABLE.has(String(error.code))) return false;
    if (state.raw) this.absorbSent(state);
    if (state.toolCall || state.finishReason !== null) return false;
    state.retired = true;
    const source = state.exchange.response.body;
    if (!source.destroyed) source.destroy();
    this.flushOut();
    const next = this.resumeCall(run, state);
    if (!next) return false;
    this.resumesLeft--;
    this.run = run;
    this.env.telemetry.resumed(error);
    this.callNext(next, state.logical, error);
    return true;
  }

  /** The resumed call: the request on `run`'s route, with the answer so far prefilled, within the call's cap. */
  private resumeCall(run: RouteRun, state: CallState): PlannedCall | undefined {
    const { prepared, call } = run;
    const soFar = { content: this.received.content.slice(this.echoed.content.length), reasoning: this.received.reasoning.slice(this.echoed.reasoning.length) };
    if (soFar.content.length === 0 && soFar.reasoning.length === 0 && !prepared.prefill) {
      // Nothing reached the client yet: the same request again.
      const first = prepared.first;
      return { ...first, chat: { ...first.chat, stream: true } };
    }
    const cap = clientLimit(state.logical.planned.chat);
    const remaining = cap === undefined ? undefined : Math.max(1, cap - state.logical.deltas);
    const resumed = withSoFarPrefilled(prepared.chat, prepared.prefill, soFar, {
      trigger: 'resume',
      thinkingClosed: this.thinkingClosed || soFar.content.length > 0,
      maxTokens: remaining,
    });
    const chat = { ...resumed.chat, stream: true };
    try {
      return { chat, prefill: resumed.prefill, plan: planCall(call.provider, call.settings, chat, resumed.prefill, undefined) };
    } catch {
      // PREFILL_FALLBACK=reject on an upstream without native prefill: the answer cannot be resumed.
      return undefined;
    }
  }

  /** Resumes on the next configured fallback model after the resume on this upstream failed. */
  private resumeOnFallback(error: ProxyError): boolean {
    const next = this.fallbacks.after(error);
    if (!next) return false;
    this.resumesLeft = Math.max(this.resumesLeft, 1);
    return this.resumeAnswer(error, next);
  }

  /** The answer cannot be completed: held text, then the door's error event, and the end. */
  private fail(error: ProxyError): void {
    if (this.finished) return;
    const state = this.current;
    if (!state.raw && state.decoder) for (const event of state.rewriter.flushAll()) this.release(state, event);
    const told = new ProxyError(error.status, this.call.secrets.redact(error.message), { type: error.type, code: error.code, param: error.param, cause: error.cause });
    this.call.telemetry.streamFailed(told);
    this.out += this.encoder.error(told);
    this.finished = true;
    this.env.streams.delete(this);
    const source = state.exchange.response.body;
    if (!source.destroyed) source.destroy();
    this.flushOut();
    this.end();
  }

  private flushOut(): void {
    if (this.out.length === 0) return;
    const out = this.out;
    this.out = '';
    this.send(out);
  }

  private send(bytes: string | Buffer): void {
    const sink = this.sink;
    if (!sink) {
      this.held.push(bytes);
      this.current.exchange.response.body.pause();
      return;
    }
    this.call.telemetry.firstByte();
    if (!sink.write(bytes)) this.current.exchange.response.body.pause();
  }

  private end(): void {
    if (this.sink) this.sink.end();
    else this.endHeld = true;
  }
}

function truncated(): ProxyError {
  return proxyError('upstream_stream_truncated', 'The upstream stream ended before the answer was complete.');
}

/** The end (in `chunk`) of an event whose blank line starts at the end of `before`, or -1. */
function endAcrossJunction(before: Buffer, chunk: Buffer): number {
  const head = before.subarray(Math.max(0, before.length - 3));
  const joint = Buffer.concat([head, chunk.subarray(0, 3)]);
  const end = lastEventEnd(joint) - head.length;
  return end > 0 ? end : -1;
}

/**
 * The bytes hold the key `"usage"` (inside a string it would be escaped, so this is a key; a false
 * positive costs only reading the rest). Found through its rare `g` with the one-byte native search,
 * about a tenth of the cost of searching for the whole key: this runs on every chunk of a rewritten
 * stream after it passes untouched.
 */
function holdsUsageKey(bytes: Buffer): boolean {
  // `"usage"`: the g is at offset 4.
  for (let g = bytes.indexOf(0x67, 4); g !== -1 && g + 2 < bytes.length; g = bytes.indexOf(0x67, g + 1)) {
    if (bytes[g - 4] === 0x22 && bytes[g - 3] === 0x75 && bytes[g - 2] === 0x73 && bytes[g - 1] === 0x61 && bytes[g + 1] === 0x65 && bytes[g + 2] === 0x22) return true;
  }
  return false;
}

/** The end of the last complete event in a chunk (after its blank line), or -1. */
function lastEventEnd(chunk: Buffer): number {
  const n = chunk.length;
  // The usual case: the chunk ends exactly at an event's end.
  if (n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (n >= 4 && chunk[n - 2] === 13 && chunk[n - 3] === 10 && chunk[n - 4] === 13))) return n;
  const lf = chunk.lastIndexOf('\n\n');
  const crlf = chunk.lastIndexOf('\r\n\r\n');
  return Math.max(lf === -1 ? -1 : lf + 2, crlf === -1 ? -1 : crlf + 4);
}
