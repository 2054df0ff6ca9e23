/**
 * Overhead benchmark: the same prefill request, under the same load, sent to
 *   direct    the mock upstream itself,
 *   baseline  a raw Node pipe proxy in front of it (bench/pipe-proxy.mjs),
 *   proxy     prefill-proxy in front of it (vllm: the answer is piped; llamacpp: the answer is rewritten),
 * in interleaved rounds (the machine is noisy: only ratios taken in one run mean much).
 *
 *   npm run bench                       (BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_SOAK=100000)
 *   npm run bench -- --write            also writes bench/RESULTS.md
 *
 * Needs the build (npm ci builds it). Timed figures are printed, never asserted: this is not a test.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SOAK_REQUESTS = Number(process.env.BENCH_SOAK ?? 100_000);
const LATENCY_REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 2000);
const STREAM_REQUESTS = Number(process.env.BENCH_STREAM_REQUESTS ?? 60);
const STREAM_EVENTS = 20;
const STREAM_INTERVAL_MS = 5;
const root = fileURLToPath(new URL('..', import.meta.url));

const prefillBody = (stream: boolean) =>
  JSON.stringify({
    model: 'bench',
    stream,
    max_tokens: 64,
    temperature: 0,
    messages: [
      { role: 'system', content: 'You are a storyteller who writes short, kind stories for children.' },
      { role: 'user', content: 'Tell me a story about a fox who wants to cross a wide river.' },
      { role: 'assistant', content: 'Once upon a time' },
    ],
  });

interface Service {
  name: string;
  port: number;
  child: ChildProcess;
}

/** The proxy runs as `npm start` runs it. */
const PROXY_NODE_FLAGS = ['--max-semi-space-size=4'];

async function startService(name: string, script: string, env: Record<string, string>): Promise<Service> {
  const flags = script === 'dist/main.js' ? PROXY_NODE_FLAGS : [];
  const child = spawn(process.execPath, [...flags, script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening (\d+)/.exec(seen) ?? /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(seen);
      if (match) {
        child.stdout!.off('data', onData);
        // Keep draining stdout (log lines) so the child never blocks on a full pipe.
        child.stdout!.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, port, child };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function load(port: number, stream: boolean, connections: number, extra: Partial<autocannon.Options> = {}) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: prefillBody(stream),
    connections,
    pipelining: 1,
    duration: SECONDS,
    ...extra,
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`port ${port}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** c=1 latency with microsecond resolution (autocannon's is whole milliseconds). */
async function sequentialLatency(port: number): Promise<{ p50: number; p99: number }> {
  const client = new Client(`http://127.0.0.1:${port}`, { keepAliveTimeout: 60_000 });
  const body = prefillBody(false);
  const times: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS + 200; i++) {
    const start = process.hrtime.bigint();
    const response = await client.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
    await response.body.arrayBuffer();
    if (i >= 200) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  await client.close();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Streams with events 5 ms apart: time to first byte, total time, and whether events arrive one by one. */
async function streamTiming(port: number): Promise<{ ttfb: number; total: number; separate: number }> {
  const client = new Client(`http://127.0.0.1:${port}`, { keepAliveTimeout: 60_000 });
  const body = prefillBody(true);
  const ttfbs: number[] = [];
  const totals: number[] = [];
  let separate = 0;
  for (let i = 0; i < STREAM_REQUESTS + 5; i++) {
    const start = process.hrtime.bigint();
    const response = await client.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', 'x-bench-interval': String(STREAM_INTERVAL_MS) },
      body,
    });
    let first = 0n;
    let reads = 0;
    for await (const chunk of response.body) {
      if (first === 0n) first = process.hrtime.bigint();
      if ((chunk as Buffer).includes('"content":" w')) reads++;
    }
    const end = process.hrtime.bigint();
    if (i < 5) continue;
    ttfbs.push(Number(first - start) / 1e6);
    totals.push(Number(end - start) / 1e6);
    // Each spaced token event should arrive in a read of its own (no coalescing).
    if (reads === STREAM_EVENTS) separate++;
  }
  await client.close();
  ttfbs.sort((a, b) => a - b);
  totals.sort((a, b) => a - b);
  return { ttfb: percentile(ttfbs, 50), total: percentile(totals, 50), separate: separate / STREAM_REQUESTS };
}

type Row = Record<string, number>;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function main(): Promise<void> {
  const upstream = await startService('upstream', 'bench/upstream.mjs', { PORT: '0', SSE_CHUNKS: String(STREAM_EVENTS) });
  const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
  const baseline = await startService('baseline', 'bench/pipe-proxy.mjs', { PORT: '0', UPSTREAM_PORT: String(upstream.port) });
  const proxyEnv = { PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: upstreamUrl, LOG_LEVEL: 'info' };
  const proxy = await startService('proxy', 'dist/main.js', { ...proxyEnv, UPSTREAM_PROVIDER: 'vllm' });
  const rewriting = await startService('proxy-rewrite', 'dist/main.js', { ...proxyEnv, UPSTREAM_PROVIDER: 'llamacpp' });
  const targets = [
    { name: 'direct', port: upstream.port, pid: upstream.child.pid! },
    { name: 'baseline', port: baseline.port, pid: baseline.child.pid! },
    { name: 'proxy', port: proxy.port, pid: proxy.child.pid! },
    { name: 'proxy-rewrite', port: rewriting.port, pid: rewriting.child.pid! },
  ];
  const samples = new Map<string, Row[]>(targets.map((target) => [target.name, []]));
  const peakRss = new Map<string, number>();

  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of shuffle(targets)) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${target.name}\n`);
        const sampler = setInterval(() => peakRss.set(target.name, Math.max(peakRss.get(target.name) ?? 0, rssMb(target.pid))), 250);
        const json = await load(target.port, false, 32);
        const sse = await load(target.port, true, 32);
        clearInterval(sampler);
        const c1 = await sequentialLatency(target.port);
        const timing = await streamTiming(target.port);
        samples.get(target.name)!.push({
          rps32: json.rps,
          p50_32: json.p50,
          p99_32: json.p99,
          sseRps32: sse.rps,
          p50_1: c1.p50,
          p99_1: c1.p99,
          ttfb: timing.ttfb,
          streamTotal: timing.total,
          separate: timing.separate,
        });
      }
    }
    const soak = await soakRss(proxy);
    report(targets.map((target) => target.name), samples, peakRss, soak);
  } finally {
    for (const service of [upstream, baseline, proxy, rewriting]) service.child.kill('SIGTERM');
  }
}

/** RSS of the proxy over SOAK_REQUESTS requests at c=32, sampled every tenth of the way. */
async function soakRss(proxy: Service): Promise<number[]> {
  process.stderr.write(`soak: ${SOAK_REQUESTS} requests through the proxy\n`);
  const series: number[] = [rssMb(proxy.child.pid!)];
  const step = Math.max(1000, Math.floor(SOAK_REQUESTS / 10));
  for (let done = 0; done < SOAK_REQUESTS; done += step) {
    const result = await autocannon({
      url: `http://127.0.0.1:${proxy.port}/v1/chat/completions`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: prefillBody(false),
      connections: 32,
      amount: step,
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`soak: ${result.non2xx} non-2xx, ${result.errors} errors`);
    series.push(rssMb(proxy.child.pid!));
  }
  return series;
}

function report(names: string[], samples: Map<string, Row[]>, peakRss: Map<string, number>, soak: number[]): void {
  const med = (name: string, key: string) => median(samples.get(name)!.map((row) => row[key]!));
  const fmt = (value: number, digits = 2) => value.toFixed(digits);
  const lines: string[] = [];
  lines.push(`| metric | ${names.join(' | ')} | proxy ÷ baseline | proxy-rewrite ÷ baseline |`);
  lines.push(`|---|${names.map(() => '---:').join('|')}|---:|---:|`);
  const row = (label: string, key: string, digits: number, kind: 'ratio' | 'delta') => {
    const cells = names.map((name) => fmt(med(name, key), digits));
    const base = med('baseline', key);
    const rel = (name: string) =>
      kind === 'ratio' ? `${fmt(med(name, key) / base)}×` : `${med(name, key) - base >= 0 ? '+' : ''}${fmt(med(name, key) - base, 3)} ms`;
    lines.push(`| ${label} | ${cells.join(' | ')} | ${rel('proxy')} | ${rel('proxy-rewrite')} |`);
  };
  row('req/s, c=32, not streamed', 'rps32', 0, 'ratio');
  row('req/s, c=32, streamed (20 events)', 'sseRps32', 0, 'ratio');
  row('p50 ms, c=1', 'p50_1', 3, 'delta');
  row('p99 ms, c=1', 'p99_1', 3, 'delta');
  row('p50 ms, c=32 (autocannon, whole ms)', 'p50_32', 1, 'delta');
  row('p99 ms, c=32 (autocannon, whole ms)', 'p99_32', 1, 'delta');
  row('stream time to first byte, ms', 'ttfb', 3, 'delta');
  row(`stream total, ms (${STREAM_EVENTS} events ${STREAM_INTERVAL_MS} ms apart)`, 'streamTotal', 3, 'delta');
  row('streams whose events all arrived separately', 'separate', 2, 'ratio');
  const rss = names.map((name) => fmt(peakRss.get(name) ?? 0, 1));
  lines.push(`| peak RSS under load, MB | ${rss.join(' | ')} | ${fmt((peakRss.get('proxy') ?? 0) / (peakRss.get('baseline') ?? 1))}× | ${fmt((peakRss.get('proxy-rewrite') ?? 0) / (peakRss.get('baseline') ?? 1))}× |`);

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const commit = (() => {
    try {
      return readFileSync(`${root}.git/HEAD`, 'utf8').startsWith('ref:')
        ? readFileSync(`${root}.git/${readFileSync(`${root}.git/HEAD`, 'utf8').slice(5).trim()}`, 'utf8').trim().slice(0, 10)
        : readFileSync(`${root}.git/HEAD`, 'utf8').trim().slice(0, 10);
    } catch {
      return 'unknown';
    }
  })();
  const header = [
    `Run ${new Date().toISOString()} on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, commit ${commit}.`,
    `${ROUNDS} interleaved rounds of ${SECONDS} s per load; medians across rounds. Load: autocannon (c=32, no pipelining) and a sequential undici client (c=1, ${LATENCY_REQUESTS} requests; streams: ${STREAM_REQUESTS}). Load generator, upstream and proxies share the machine.`,
  ];
  const soakLine = `Proxy RSS over ${SOAK_REQUESTS} requests (MB, every ${Math.max(1000, Math.floor(SOAK_REQUESTS / 10))}): ${soak.map((value) => fmt(value, 1)).join(' → ')}`;
  const text = `${header.join('\n')}\n\n${lines.join('\n')}\n\n${soakLine}\n`;
  process.stdout.write(`\n${text}`);
  if (process.argv.includes('--write')) {
    const intro = readFileSync(`${root}bench/RESULTS.md`, 'utf8').split('<!-- results -->')[0];
    writeFileSync(`${root}bench/RESULTS.md`, `${intro}<!-- results -->\n\n${text}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
