import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

  // Histograms observed on every request: counted in plain memory too (see PlainHistogram).
  readonly upstreamLatency = new PlainHistogram(this.registry, {
    name: 'prefill_proxy_upstream_response_seconds',
    help: "Time from sending a chat request upstream to the upstream's response headers.",
    labelName: 'provider',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });

  readonly overhead = new PlainHistogram(this.registry, {
    name: 'prefill_proxy_overhead_seconds',
    help: 'Time the proxy itself spent on a whole (non-streamed) answer: total minus upstream.',
    labelName: 'provider',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
  });

  readonly streamFirstByte = new PlainHistogram(this.registry, {
    name: 'prefill_proxy_stream_first_byte_seconds',
    help: 'Time from the request to the first byte of a streamed answer sent to the client.',
    labelName: 'provider',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
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

  readonly upstreamCalls = new PlainHistogram(this.registry, {
    name: 'prefill_proxy_upstream_calls_per_answer',
    help: 'Upstream calls one answer took (follow-ups, resumes and fallbacks included).',
    buckets: [1, 2, 3, 4, 6, 10, 20],
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

/** One label set's observations. */
interface HistogramSeries {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram with at most one label, observed in plain memory (a bucket search and three
 * additions) and handed to prom-client's registry at scrape time in the shape its own histograms give
 * (`_bucket` with `le`, `_sum`, `_count`), so the exposition is the same. prom-client's own
 * observe validates and hashes the labels on every call, which costs more than the observation.
 */
export class PlainHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelName: string | undefined;
  private readonly buckets: readonly number[];
  private series = new Map<string, HistogramSeries>();

  constructor(registry: Registry, config: { name: string; help: string; labelName?: string; buckets: readonly number[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelName = config.labelName;
    this.buckets = [...config.buckets].sort((a, b) => a - b);
    registry.registerMetric(this as never);
  }

  /** One observation; `label` is the value of the histogram's label (ignored without one). */
  observe(label: string, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = this.labelName === undefined ? '' : label;
    let series = this.series.get(key);
    if (!series) {
      // Bounded: label values are providers.
      series = { labels: this.labelName === undefined ? {} : { [this.labelName]: key }, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    let bucket = 0;
    while (bucket < this.buckets.length && value > this.buckets[bucket]!) bucket++;
    series.counts[bucket]!++;
    series.sum += value;
    series.count++;
  }

  /** The scrape's view, as prom-client's registry formats it. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> }> {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += counts[i]!;
        values.push({ labels: { le: this.buckets[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.series = new Map();
  }
}
