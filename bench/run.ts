/**
 * Overhead benchmark: the same prefill request, under the same load, sent to
 *   direct          the mock upstream itself,
 *   baseline        a raw Node pipe proxy in front of it (bench/pipe-proxy.mjs),
 *   proxy           prefill-proxy in front of it (vllm: the answer is piped),
 *   baseline-llama  the pipe in front of a second mock that closes the connection after each stream,
 *                   as llama-server does,
 *   proxy-rewrite   prefill-proxy in front of that one (llamacpp: the answer is rewritten),
 * in interleaved rounds (the machine is noisy: only ratios taken in one run mean much).
 *
 *   npm run bench                       (BENCH_ROUNDS=3 BENCH_SECONDS=5 BENCH_SOAK=100000)
 *   npm run bench -- --write            also writes bench/RESULTS.md
 *   npm run bench -- --cpu-only         only CPU per request at the fixed rate (quick, for work on the hot path)
 *   BENCH_BEFORE=/path/to/other/checkout npm run bench     (or BENCH_BEFORE=label=dir,label=dir)
 *                                       also runs that checkout's build (its dist/, built) as proxy@before and
 *                                       proxy-rewrite@before, interleaved in the same rounds
 *   BENCH_FLOOR=1                       also runs bench/floor-proxy.mjs (Fastify + undici, nothing else) as floor,
 *                                       and as floor-llama in front of the closing upstream
 *   BENCH_NODE_FLAGS='--max-semi-space-size=16'   node flags for this checkout's proxies only
 *
 * Needs the build (npm ci builds it). Timed figures are printed, never asserted: this is not a test.
 */
import autocannon from 'autocannon';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Client } from 'undici';
import { CPU_RATE, LLAMA_PIPE, RECONNECT_RATE, atFixedRate, pinnedWhile, pipeOf, pinning, prefillBody, rateFor, root, rssMb, startService, startUpstream, type Service } from './services.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const SOAK_REQUESTS = Number(process.env.BENCH_SOAK ?? 100_000);
const LATENCY_REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 2000);
const STREAM_REQUESTS = Number(process.env.BENCH_STREAM_REQUESTS ?? 60);
const STREAM_EVENTS = 20;
const STREAM_INTERVAL_MS = 5;
const CPU_ONLY = process.argv.includes('--cpu-only');
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 3);
/** Other checkouts to compare with: `dir` (labelled "before") or `label=dir,label=dir`. */
const BEFORE: Array<[string, string]> = (process.env.BENCH_BEFORE ?? '')
  .split(',')
  .filter(Boolean)
  .map((entry) => (entry.includes('=') ? (entry.split('=', 2) as [string, string]) : ['before', entry]));
/** Also run bench/floor-proxy.mjs (Fastify and undici with nothing else: the stack's own cost). */
const FLOOR = process.env.BENCH_FLOOR === '1';
/** Further node flags for this checkout's proxies (to try one, e.g. a V8 heap setting, against BENCH_BEFORE). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

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
  const upstream = await startUpstream('upstream', false, STREAM_EVENTS);
  // The llama.cpp path's upstream closes the connection after each stream, as llama-server does
  // (bench/upstream.mjs); its pipe stands in front of it, so that path is compared with a pipe that
  // pays the same connects.
  const llamaUpstream = await startUpstream('upstream-llama', true, STREAM_EVENTS);
  const pipe = (name: string, to: Service) => startService(name, 'bench/pipe-proxy.mjs', { PORT: '0', UPSTREAM_PORT: String(to.port) });
  const proxyEnv = (to: Service) => ({ PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${to.port}`, LOG_LEVEL: 'info' });
  const piped = (name: string, dir = root, flags = NODE_FLAGS) => startService(name, 'dist/main.js', { ...proxyEnv(upstream), UPSTREAM_PROVIDER: 'vllm' }, flags, dir);
  const rewritten = (name: string, dir = root, flags = NODE_FLAGS) => startService(name, 'dist/main.js', { ...proxyEnv(llamaUpstream), UPSTREAM_PROVIDER: 'llamacpp' }, flags, dir);
  const services = [upstream, llamaUpstream];
  const measured: Array<[Service, Service]> = [
    [upstream, upstream],
    [await pipe('baseline', upstream), upstream],
    [await pipe(LLAMA_PIPE, llamaUpstream), llamaUpstream],
    [await piped('proxy'), upstream],
    [await rewritten('proxy-rewrite'), llamaUpstream],
  ];
  const floor = (name: string, to: Service) => startService(name, 'bench/floor-proxy.mjs', { PORT: '0', UPSTREAM_PORT: String(to.port) });
  if (FLOOR) measured.push([await floor('floor', upstream), upstream], [await floor('floor-llama', llamaUpstream), llamaUpstream]);
  for (const [label, dir] of BEFORE) {
    measured.push([await piped(`proxy@${label}`, dir, []), upstream]);
    measured.push([await rewritten(`proxy-rewrite@${label}`, dir, []), llamaUpstream]);
  }
  services.push(...measured.map(([service]) => service).filter((service) => !services.includes(service)));
  const proxy = measured.find(([service]) => service.name === 'proxy')![0];
  const targets = measured.map(([service, to]) => ({
    name: service === upstream ? 'direct' : service.name,
    port: service.port,
    pid: service.child.pid!,
    // The upstream shares the load generator's core while the server measured has the other.
    others: service === to ? [] : [to.child.pid!],
    streamRate: rateFor(true, to === llamaUpstream),
  }));
  const samples = new Map<string, Row[]>(targets.map((target) => [target.name, []]));
  const peakRss = new Map<string, number>();

  try {
    // Every server warmed up first (JIT, pools, heap): a cold first round costs more per request.
    for (const target of targets) {
      process.stderr.write(`warm-up: ${target.name}\n`);
      await atFixedRate(target.port, target.pid, false, WARM_UP_SECONDS);
      await atFixedRate(target.port, target.pid, true, WARM_UP_SECONDS, target.streamRate);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const target of shuffle(targets)) {
        process.stderr.write(`round ${round}/${ROUNDS}: ${target.name}\n`);
        const cpuJson = await pinnedWhile(target.pid, target.others, () => atFixedRate(target.port, target.pid, false, SECONDS));
        const cpuSse = await pinnedWhile(target.pid, target.others, () => atFixedRate(target.port, target.pid, true, SECONDS, target.streamRate));
        process.stderr.write(
          `  CPU µs per request: ${cpuJson.usPerRequest.toFixed(0)} not streamed, ${cpuSse.usPerRequest.toFixed(0)} streamed (in the kernel: ${cpuJson.systemUsPerRequest.toFixed(0)}, ${cpuSse.systemUsPerRequest.toFixed(0)}; off the main thread: ${cpuJson.helpersUsPerRequest.toFixed(0)}, ${cpuSse.helpersUsPerRequest.toFixed(0)})\n`,
        );
        if (CPU_ONLY) {
          samples.get(target.name)!.push({ cpu: cpuJson.usPerRequest, cpuRate: cpuJson.rate, cpuSse: cpuSse.usPerRequest, cpuSseRate: cpuSse.rate });
          continue;
        }
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
          cpu: cpuJson.usPerRequest,
          cpuRate: cpuJson.rate,
          cpuSse: cpuSse.usPerRequest,
          cpuSseRate: cpuSse.rate,
        });
      }
    }
    const soak = CPU_ONLY ? [] : await soakRss(proxy);
    report(targets.map((target) => target.name), samples, peakRss, soak);
  } finally {
    for (const service of services) service.child.kill('SIGTERM');
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
  // Every proxy is compared with the pipe in front of its own upstream (pipeOf), in the same run.
  const proxies = names.filter((name) => name !== 'direct' && name !== 'baseline');
  lines.push(`| metric | ${names.join(' | ')} | ${proxies.map((name) => `${name} ÷ ${pipeOf(name)}`).join(' | ')} |`);
  lines.push(`|---|${[...names, ...proxies].map(() => '---:').join('|')}|`);
  const row = (label: string, key: string, digits: number, kind: 'ratio' | 'delta' | 'cpu') => {
    const cells = names.map((name) => fmt(med(name, key), digits));
    const base = (name: string) => med(pipeOf(name), key);
    const signed = (value: number, digits: number, unit: string) => `${value >= 0 ? '+' : ''}${fmt(value, digits)} ${unit}`;
    const rel = (name: string) =>
      kind === 'ratio'
        ? `${fmt(med(name, key) / base(name))}×`
        : kind === 'cpu'
          ? `${fmt(med(name, key) / base(name))}× (${signed(med(name, key) - base(name), 0, 'µs')})`
          : signed(med(name, key) - base(name), 3, 'ms');
    lines.push(`| ${label} | ${cells.join(' | ')} | ${proxies.map(rel).join(' | ')} |`);
  };
  row(`CPU µs per request at ${CPU_RATE} req/s, c=32, not streamed`, 'cpu', 0, 'cpu');
  row(`CPU µs per request at ${CPU_RATE} req/s (${LLAMA_PIPE} and proxy-rewrite*: ${RECONNECT_RATE}), c=32, streamed`, 'cpuSse', 0, 'cpu');
  // Paired: each round's ratio to the pipe measured in the same round, then the median. Slow drift
  // of the shared machine (minutes apart) cancels out of these better than out of medians of totals.
  const paired = (name: string, key: string) =>
    median(samples.get(name)!.map((sample, round) => sample[key]! / samples.get(pipeOf(name))![round]![key]!));
  for (const [label, key] of [['not streamed', 'cpu'], ['streamed', 'cpuSse']] as const) {
    lines.push(`| CPU per request, median of each round's ratio to the pipe, ${label} | ${names.map(() => '').join(' | ')} | ${proxies.map((name) => `${fmt(paired(name, key))}×`).join(' | ')} |`);
  }
  row('(the rate held, req/s, not streamed)', 'cpuRate', 0, 'ratio');
  row('(the rate held, req/s, streamed)', 'cpuSseRate', 0, 'ratio');
  if (!CPU_ONLY) {
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
    const rssRatio = (name: string) => `${fmt((peakRss.get(name) ?? 0) / (peakRss.get(pipeOf(name)) ?? 1))}×`;
    lines.push(`| peak RSS under load, MB | ${rss.join(' | ')} | ${proxies.map(rssRatio).join(' | ')} |`);
  }
  for (const [label] of BEFORE) {
    // The proxy's own cost: its CPU per request minus the pipe's, now and in the other checkout, per path.
    lines.push('', `| the proxy's own CPU per request (minus the pipe's) | ${label} | now | change |`, '|---|---:|---:|---:|');
    for (const [path, name] of [['prefill, answer piped', 'proxy'], ['prefill, answer rewritten', 'proxy-rewrite']] as const) {
      for (const [mode, key] of [['not streamed', 'cpu'], ['streamed', 'cpuSse']] as const) {
        // From the paired ratios, in µs at the pipe's median (see above).
        const own = (target: string) => (paired(target, key) - 1) * med(pipeOf(target), key);
        const before = own(`${name}@${label}`);
        const now = own(name);
        lines.push(`| ${path}, ${mode} | ${fmt(before, 0)} µs | ${fmt(now, 0)} µs | ${fmt((100 * (now - before)) / before, 0)}% |`);
      }
    }
  }

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
    `${ROUNDS} interleaved rounds of ${SECONDS} s per load; medians across rounds. Load: autocannon (c=32, no pipelining; for CPU per request every server held at ${CPU_RATE} req/s, streams on the upstream that closes after each at ${RECONNECT_RATE}, CPU of the serving process only, from /proc${pinning ? ', the server measured alone on one core, load generator and upstream on the other' : ''}) and a sequential undici client (c=1, ${LATENCY_REQUESTS} requests; streams: ${STREAM_REQUESTS}). Load generator, upstream and proxies share the machine.`,
  ];
  const soakLine = `Proxy RSS over ${SOAK_REQUESTS} requests (MB, every ${Math.max(1000, Math.floor(SOAK_REQUESTS / 10))}): ${soak.map((value) => fmt(value, 1)).join(' → ')}`;
  const text = `${header.join('\n')}\n\n${lines.join('\n')}\n${soak.length ? `\n${soakLine}\n` : ''}`;
  process.stdout.write(`\n${text}`);
  if (process.argv.includes('--write')) {
    // Replaces the results, keeping the intro above them and the profile (npm run bench:profile) below.
    const current = readFileSync(`${root}bench/RESULTS.md`, 'utf8');
    const intro = current.split('<!-- results -->')[0];
    const profile = current.includes('<!-- profile -->') ? `\n<!-- profile -->${current.split('<!-- profile -->')[1]}` : '';
    writeFileSync(`${root}bench/RESULTS.md`, `${intro}<!-- results -->\n\n${text}${profile}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
