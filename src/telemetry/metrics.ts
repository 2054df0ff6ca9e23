import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics (prom-client). Labels are bounded: the model label is the matching config entry
 * (or `<upstream>/*`), never the raw model name a client sent.
 */
export class Metrics {
  readonly registry = new Registry();

  /**
   * Requests answered and in flight, counted in plain memory and handed to prom-client when scraped:
   * they change on every request, and prom-client's per-call label validation and hashing cost more
   * than the counting itself.
   */
  readonly answered = new RequestCounts();
  inFlightNow = 0;

  private readonly requests: Counter<RequestLabelName> = new Counter({
    name: 'prefill_proxy_requests_total',
    help: 'Requests answered, by route, model entry, provider, prefill kind and status.',
    labelNames: ['route', 'model', 'provider', 'prefill', 'status'] as const,
    registers: [this.registry],
    collect: (): void => this.answered.publish(this.requests),
  });

  private readonly inFlight: Gauge = new Gauge({
    name: 'prefill_proxy_in_flight_requests',
    help: 'Requests being handled right now.',
    registers: [this.registry],
    collect: (): void => this.inFlight.set(this.inFlightNow),
  });

  readonly upstreamLatency = new Histogram({
    name: 'prefill_proxy_upstream_response_seconds',
    help: "Time from sending a chat request upstream to the upstream's response headers.",
    labelNames: ['provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly overhead = new Histogram({
    name: 'prefill_proxy_overhead_seconds',
    help: 'Time the proxy itself spent on a whole (non-streamed) answer: total minus upstream.',
    labelNames: ['provider'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
    registers: [this.registry],
  });

  readonly streamFirstByte = new Histogram({
    name: 'prefill_proxy_stream_first_byte_seconds',
    help: 'Time from the request to the first byte of a streamed answer sent to the client.',
    labelNames: ['provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'prefill_proxy_upstream_errors_total',
    help: 'Upstream failures by kind: unreachable, timeout, http_4xx, http_5xx, invalid_response, mid_stream.',
    labelNames: ['provider', 'kind'] as const,
    registers: [this.registry],
  });

  readonly resumes = new Counter({
    name: 'prefill_proxy_resumes_total',
    help: 'Answers resumed through a prefill after the upstream failed mid-way (or whole answers asked again).',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly fallbacks = new Counter({
    name: 'prefill_proxy_fallbacks_total',
    help: 'Configured fallback models taken after an upstream failure.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly upstreamCalls = new Histogram({
    name: 'prefill_proxy_upstream_calls_per_answer',
    help: 'Upstream calls one answer took (follow-ups, resumes and fallbacks included).',
    buckets: [1, 2, 3, 4, 6, 10, 20],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'prefill_proxy_' });
  }
}

/** The error kind label for an upstream failure's status and code. */
export function upstreamErrorKind(status: number, code: string | number | null): string {
  if (status === 504) return 'timeout';
  if (code === 'upstream_unreachable' || code === 'upstream_connection_lost') return 'unreachable';
  if (code === 'upstream_invalid_response') return 'invalid_response';
  return status >= 500 ? 'http_5xx' : 'http_4xx';
}

type RequestLabelName = 'route' | 'model' | 'provider' | 'prefill' | 'status';

/** The labels of one answered request. */
export interface RequestLabels {
  route: string;
  model: string;
  provider: string;
  prefill: string;
  status: number;
}

/** Answered requests per label set, kept as plain numbers until a scrape publishes them. */
export class RequestCounts {
  private readonly series = new Map<string, { labels: RequestLabels; count: number }>();

  add(labels: RequestLabels): void {
    // The labels are bounded (config entries, providers, statuses), so the map is too.
    const key = `${labels.route}\u0000${labels.model}\u0000${labels.provider}\u0000${labels.prefill}\u0000${labels.status}`;
    const entry = this.series.get(key);
    if (entry) entry.count++;
    else this.series.set(key, { labels, count: 1 });
  }

  /** Sets the counter to the counts (a scrape's view; prom-client counters only go up, so reset first). */
  publish(counter: Counter<RequestLabelName>): void {
    counter.reset();
    for (const { labels, count } of this.series.values()) counter.inc(labels, count);
  }
}
