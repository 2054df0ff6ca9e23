import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PlainHistogram } from '../../../src/telemetry/metrics.js';

/** The plain-memory histogram must scrape exactly as prom-client's own histogram would. */
describe('PlainHistogram', () => {
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 1];
  const observations: Array<[string, number]> = [
    ['vllm', 0.001],
    ['vllm', 0.005],
    ['vllm', 0.0051],
    ['llamacpp', 0.3],
    ['vllm', 7],
    ['llamacpp', 1],
    ['vllm', Number.NaN],
  ];

  it('with a label: the same exposition as prom-client', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const plain = new PlainHistogram(ours, { name: 'h_seconds', help: 'help text', labelName: 'provider', buckets });
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['provider'], buckets, registers: [theirs] });
    for (const [provider, value] of observations) {
      plain.observe(provider, value);
      if (Number.isFinite(value)) reference.observe({ provider }, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('h_seconds_bucket{le="0.005",provider="vllm"} 2');
  });

  it('without a label, and after a reset', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const plain = new PlainHistogram(ours, { name: 'calls', help: 'calls per answer', buckets: [1, 2, 3] });
    const reference = new Histogram({ name: 'calls', help: 'calls per answer', buckets: [1, 2, 3], registers: [theirs] });
    for (const value of [1, 1, 2, 5]) {
      plain.observe('', value);
      reference.observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    ours.resetMetrics();
    expect(await ours.metrics()).not.toContain('calls_count');
  });
});
