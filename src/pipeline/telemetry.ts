import type { Logger } from 'pino';
import type { ProxyError } from '../errors.js';
import { upstreamErrorKind, type Metrics } from '../telemetry/metrics.js';

/**
 * What one request did, recorded in one place for every path (plain, budgeted, emulated, recovered):
 * the pipeline reports each upstream call and failure here, and the app's response hook turns the
 * record into the request counter and the request's log line.
 */
export class RequestTelemetry {
  /** The model the client asked for. */
  model: string | null = null;
  /** The route's bounded metric label and provider, once known. */
  routeLabel: string | null = null;
  providerId: string | null = null;
  prefill: 'native' | 'emulated' | 'none' | null = null;
  /** The code of a failure after the answer began (a stream's error event). */
  streamError: string | null = null;
  /** Upstream calls made (retries not counted: each is one call that answered). */
  upstreamCalls = 0;
  /** The upstreams (configured names) the answer's calls went to, in order of first use. */
  readonly upstreams: string[] = [];
  /** Times a broken answer was resumed (or a whole answer asked again). */
  resumes = 0;
  /** Fallback models taken. */
  readonly fallbacks: string[] = [];
  /** Time spent waiting for upstreams: to headers on streams, to the whole body on whole answers. */
  upstreamMs = 0;
  private firstByteSeen = false;

  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
    readonly reqId: string,
    /** performance.now() when the request came in. */
    readonly startedAt: number,
  ) {}

  /** An upstream call answered with headers after `ms`. */
  upstreamAnswered(ms: number): void {
    this.upstreamCalls++;
    this.metrics.upstreamLatency.observe(this.providerId ?? '', ms / 1000);
  }

  /** A call of this answer goes to this upstream. */
  upstreamStarted(name: string): void {
    if (!this.upstreams.includes(name)) this.upstreams.push(name);
  }

  /** The answer broke off and is resumed (or a whole answer asked again). */
  resumed(error: ProxyError): void {
    this.resumes++;
    this.metrics.resumes.inc({ provider: this.providerId ?? '' });
    this.log.info({ reqId: this.reqId, code: error.code, resumes: this.resumes }, 'the upstream failed mid-answer; resuming it through a prefill');
  }

  /** The model failed before its answer began (or its resume failed): a configured fallback is tried. */
  fellBack(model: string, error: ProxyError): void {
    this.fallbacks.push(model);
    this.metrics.fallbacks.inc({ provider: this.providerId ?? '' });
    this.log.info({ reqId: this.reqId, code: error.code, fallback: model }, 'the upstream failed; trying a fallback model');
  }

  /** A configured fallback cannot take the whole request (`refuseRoute`): it is not tried. */
  passedOver(model: string, why: ProxyError): void {
    this.log.info({ reqId: this.reqId, fallback: model, reason: why.message }, 'a fallback model cannot take this request; passed over');
  }

  /** An upstream call failed before the answer began (transport, HTTP error, invalid answer). */
  upstreamFailed(error: ProxyError): void {
    this.metrics.upstreamErrors.inc({ provider: this.providerId ?? '', kind: upstreamErrorKind(error.status, error.code) });
  }

  /** The answer failed after it began: the stream ends with an error event. */
  streamFailed(error: ProxyError): void {
    this.streamError = error.code === null ? 'upstream_error' : String(error.code);
    this.metrics.upstreamErrors.inc({ provider: this.providerId ?? '', kind: 'mid_stream' });
    this.log.warn({ reqId: this.reqId, err: error.cause ?? error, code: error.code }, 'upstream failed mid-stream');
  }

  /** Bytes of a streamed answer went to the client (the first time counts). */
  firstByte(): void {
    if (this.firstByteSeen) return;
    this.firstByteSeen = true;
    this.metrics.streamFirstByte.observe(this.providerId ?? '', (performance.now() - this.startedAt) / 1000);
  }

  /** The proxy's own time on a whole answer. */
  overhead(ms: number): void {
    this.metrics.overhead.observe(this.providerId ?? '', ms / 1000);
  }

  /** Something worth a debug line (a recovery, a retry). */
  note(fields: Record<string, unknown>, message: string): void {
    if (this.log.isLevelEnabled('debug')) this.log.debug({ reqId: this.reqId, ...fields }, message);
  }

  /** A retry of the upstream call (info: it costs time). */
  retrying(reason: string, delayMs: number): void {
    this.log.info({ reqId: this.reqId, reason, delayMs }, 'retrying the upstream request');
  }
}
