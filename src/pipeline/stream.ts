import { Readable } from 'node:stream';
import type { AnswerEvent, Usage } from '../answer/types.js';
import { addUsage } from '../answer/usage.js';
import { ProxyError, proxyError, upstreamTransportError } from '../errors.js';
import { needsRewrite } from '../prefill/answer-plan.js';
import type { StreamDecoder } from '../providers/types.js';
import { clientResponseHeaders } from '../upstream/headers.js';
import { callUpstream, type CallContext, type Exchange } from './call.js';
import { planCall } from './plan.js';
import { AnswerRewriter } from './rewrite.js';
import type { Door, PipelineResult, PlannedCall, Prepared, SoFar, StreamEncoder } from './types.js';

/**
 * A streamed answer. The first call is made before anything is written (its failures are HTTP
 * errors); from then on the client gets one stream in its door's format, whatever happens upstream.
 */
export async function runStream(call: CallContext, prepared: Prepared, door: Door, clientGone: { aborted: boolean }): Promise<PipelineResult> {
  const { first } = prepared;
  const exchange = await callUpstream(call, first.chat, first.prefill, first.plan);
  const headers = clientResponseHeaders(exchange.response.headers);
  delete headers['content-encoding'];
  const body = new AnswerStream(call, prepared, door, door.streamEncoder(prepared), clientGone, first, exchange);
  return { kind: 'stream', status: exchange.response.statusCode, headers, body, prefill: exchange.plan.answer.kind };
}

/** One upstream call's part of the stream. */
interface CallState {
  planned: PlannedCall;
  exchange: Exchange;
  decoder: StreamDecoder | undefined;
  rewriter: AnswerRewriter;
  /** Bytes pass untouched (up to the last complete event), without parsing. */
  raw: boolean;
  /** Raw mode: the incomplete event at the end of what arrived, held until its end comes. */
  tail: Buffer[];
  tailBytes: number;
  /** The upstream's end-of-stream marker was seen. */
  done: boolean;
  finishReason: string | null;
  usage: Usage | undefined;
  failure: ProxyError | undefined;
  isFirst: boolean;
}

const USAGE_KEY = Buffer.from('"usage"');


/**
 * The client's stream: upstream bytes in, the door's bytes out, event by event as they arrive (never
 * buffered whole). Where the door speaks the upstream's format and nothing needs rewriting, the bytes
 * pass untouched; otherwise the upstream's events are decoded, rewritten and encoded. A follow-up
 * stage may chain further calls into the same stream, with no seam. If the upstream fails mid-way,
 * the client gets the door's error event and no closing marker, so a truncated answer is never
 * mistaken for a complete one. A plain Readable driven by the source's events: an async generator
 * here would cost two promises per event on the proxy's hottest path.
 */
class AnswerStream extends Readable {
  private current: CallState;
  private finished = false;
  private out = '';
  private usage: Usage | undefined;
  private readonly soFar: SoFar = { reasoning: '', content: '', finishReason: null, completionTokens: 0, lastCallTokens: undefined, calls: 0 };
  private readonly multiCall: boolean;

  constructor(
    private readonly call: CallContext,
    private readonly prepared: Prepared,
    private readonly door: Door,
    private readonly encoder: StreamEncoder,
    private readonly clientGone: { aborted: boolean },
    first: PlannedCall,
    exchange: Exchange,
  ) {
    super();
    this.multiCall = prepared.stage !== undefined;
    this.current = this.attach(first, exchange, true);
    call.streams.add(this);
  }

  /** The process is stopping before this answer could finish: the client is told so, not left cut. */
  shutdown(): void {
    this.fail(proxyError('server_shutting_down', 'The proxy is shutting down; the answer was cut before it was complete.'));
  }

  override _read(): void {
    if (!this.finished) this.current.exchange.response.body.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.finished = true;
    this.call.streams.delete(this);
    const source = this.current.exchange.response.body;
    if (!source.destroyed) source.destroy();
    callback(err);
  }

  private attach(planned: PlannedCall, exchange: Exchange, isFirst: boolean): CallState {
    const plan = exchange.plan.answer;
    const answers = exchange.plan.answers ?? this.call.provider.answers;
    const sameWire = this.door.wire === answers.wire;
    const raw = sameWire && !this.multiCall && !needsRewrite(plan);
    const state: CallState = {
      planned,
      exchange,
      decoder: undefined,
      rewriter: new AnswerRewriter(isFirst ? plan : { ...plan, echo: false }),
      raw,
      tail: [],
      tailBytes: 0,
      done: false,
      finishReason: null,
      usage: undefined,
      failure: undefined,
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
    if (this.finished || state !== this.current) return;
    if (state.raw) return this.forwardRaw(state, chunk);
    state.decoder!.write(chunk);
    if (state.failure) return this.fail(state.failure);
    // Once the answer is settled, the rest of a stream in the door's own format needs nothing (its
    // end included: once the end has begun, finish it here).
    const answers = state.exchange.plan.answers ?? this.call.provider.answers;
    const endBegun = state.done || state.usage !== undefined || state.finishReason !== null;
    if (!this.multiCall && !endBegun && state.decoder!.atEventBoundary && state.rewriter.settled && this.door.wire === answers.wire) {
      state.raw = true;
    }
    this.flushOut();
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
    if (state.decoder && ready.includes(USAGE_KEY)) {
      state.raw = false;
      state.decoder.write(ready);
      for (const piece of state.tail) state.decoder.write(piece);
      state.tail = [];
      state.tailBytes = 0;
      if (state.failure) return this.fail(state.failure);
      return this.flushOut();
    }
    state.done ||= (state.exchange.plan.answers ?? this.call.provider.answers).endsWithTerminator(ready);
    // An upstream that echoes a key in what it streams (an error event) does not get it to the client.
    this.send(this.call.secrets.empty ? ready : this.call.secrets.redactBytes(ready));
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
        if (!state.rewriter.delta(event)) return;
        if (event.index === 0) {
          if (event.content) this.soFar.content += event.content;
          if (event.reasoning) this.soFar.reasoning += event.reasoning;
        }
        this.out += this.encoder.event(event);
        return;
      }
      case 'finish': {
        this.release(state.rewriter.flush(event.index));
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
        state.failure = new ProxyError(event.error.status, event.error.message, {
          type: event.error.type,
          code: event.error.code,
          param: event.error.param,
        });
        return;
      default: {
        const unexpected: never = event;
        throw new Error(`unknown answer event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  /** Held text released: what the client has not seen yet. */
  private release(event: Extract<AnswerEvent, { type: 'delta' }> | undefined): void {
    if (!event) return;
    if (event.index === 0) {
      if (event.content) this.soFar.content += event.content;
      if (event.reasoning) this.soFar.reasoning += event.reasoning;
    }
    this.out += this.encoder.event(event);
  }

  private onEnd(state: CallState): void {
    if (this.finished || state !== this.current) return;
    if (state.raw) {
      if (state.tail.length > 0 || !state.done) return this.fail(truncated());
      return this.close();
    }
    state.decoder!.end();
    if (state.failure) return this.fail(state.failure);
    for (const event of state.rewriter.flushAll()) this.release(event);
    if (!state.done) return this.fail(truncated());
    this.callEnded(state);
  }

  private callEnded(state: CallState): void {
    this.usage = addUsage(this.usage, state.usage);
    const soFar = this.soFar;
    soFar.calls++;
    soFar.finishReason = state.finishReason;
    soFar.lastCallTokens = state.usage?.completion_tokens;
    soFar.completionTokens += state.usage?.completion_tokens ?? 0;
    const following = this.prepared.stage?.next(soFar);
    if (!following) return this.finishAnswer();
    this.flushOut();
    const planned: PlannedCall = {
      ...following,
      plan: planCall(this.call.provider, this.call.settings, { ...following.chat, stream: true }, following.prefill, undefined),
    };
    callUpstream(this.call, { ...following.chat, stream: true }, following.prefill, planned.plan).then(
      (exchange) => {
        if (this.finished) {
          exchange.response.body.destroy();
          return;
        }
        this.current = this.attach(planned, exchange, false);
      },
      (err: unknown) => this.fail(err instanceof ProxyError ? err : upstreamTransportError(err)),
    );
  }

  /** The answer is complete: its end, in the door's format. */
  private finishAnswer(): void {
    if (this.multiCall) this.out += this.encoder.event({ type: 'finish', index: 0, reason: (this.soFar.finishReason ?? 'stop') as 'stop' });
    if (this.usage && this.prepared.request.options.includeUsage) this.out += this.encoder.event({ type: 'usage', usage: this.usage });
    this.out += this.encoder.end();
    this.close();
  }

  private close(): void {
    this.flushOut();
    this.finished = true;
    this.call.streams.delete(this);
    this.push(null);
  }

  private onSourceError(state: CallState, err: Error): void {
    if (this.finished || state !== this.current) return;
    // The client left and its abort tore the upstream body down: nobody is there to tell.
    if (this.clientGone.aborted) {
      this.finished = true;
      this.destroy();
      return;
    }
    const error = upstreamTransportError(err);
    this.fail(new ProxyError(error.status, `Upstream stream failed: ${error.message}`, { type: error.type, code: error.code, cause: err }));
  }

  /** The answer cannot be completed: held text, then the door's error event, and the end. */
  private fail(error: ProxyError): void {
    if (this.finished) return;
    const state = this.current;
    if (!state.raw && state.decoder) for (const event of state.rewriter.flushAll()) this.release(event);
    const told = new ProxyError(error.status, this.call.secrets.redact(error.message), { type: error.type, code: error.code, param: error.param, cause: error.cause });
    this.call.telemetry.streamFailed(told);
    this.out += this.encoder.error(told);
    this.finished = true;
    this.call.streams.delete(this);
    const source = state.exchange.response.body;
    if (!source.destroyed) source.destroy();
    this.flushOut();
    this.push(null);
  }

  private flushOut(): void {
    if (this.out.length === 0) return;
    const out = this.out;
    this.out = '';
    this.send(out);
  }

  private send(bytes: string | Buffer): void {
    this.call.telemetry.firstByte();
    if (!this.push(bytes)) this.current.exchange.response.body.pause();
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

/** The end of the last complete event in a chunk (after its blank line), or -1. */
function lastEventEnd(chunk: Buffer): number {
  const n = chunk.length;
  // The usual case: the chunk ends exactly at an event's end.
  if (n >= 2 && chunk[n - 1] === 10 && (chunk[n - 2] === 10 || (n >= 4 && chunk[n - 2] === 13 && chunk[n - 3] === 10 && chunk[n - 4] === 13))) return n;
  const lf = chunk.lastIndexOf('\n\n');
  const crlf = chunk.lastIndexOf('\r\n\r\n');
  const end = Math.max(lf === -1 ? -1 : lf + 2, crlf === -1 ? -1 : crlf + 4);
  return end;
}
