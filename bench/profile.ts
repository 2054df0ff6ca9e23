/**
 * Where the proxy's CPU goes: each of the four paths (the prefill answer piped or rewritten, whole
 * or streamed) driven at a fixed rate through a proxy started with --cpu-prof, and the profile
 * summarised by function and by package (self time).
 *
 *   npm run bench:profile               (BENCH_PROFILE_SECONDS=10 BENCH_CPU_RATE=1500)
 *   npm run bench:profile -- --write    also writes the summary into bench/RESULTS.md
 *   BENCH_PROFILE_DIR=/other/checkout BENCH_PATHS=piped npx tsx bench/profile.ts   profiles another build
 *   BENCH_PROFILE_KEEP=/some/folder     keeps the raw .cpuprofile files there
 *   BENCH_PROFILE_BOTH=1                warms up with streams and whole answers alike, as the bench does
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CPU_RATE, RECONNECT_RATE, atFixedRate, rateFor, root, startService, startUpstream, type Service } from './services.js';

const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
const TOP = Number(process.env.BENCH_PROFILE_TOP ?? 25);
/** Further node flags for the proxies profiled (to see what one changes). */
const NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** Only the paths whose name holds this (BENCH_PATHS=piped). */
const ONLY = process.env.BENCH_PATHS;
/** Another checkout whose build (its dist/, built) is profiled instead of this one's, to compare. */
const DIR = process.env.BENCH_PROFILE_DIR;
/**
 * Warm up in both modes, whole answers and streams, before the measured window (as the bench's
 * servers are): what one mode leaves behind (pooled sockets, heap) then shows in the other.
 */
const BOTH = process.env.BENCH_PROFILE_BOTH === '1';
/** A folder to keep the raw .cpuprofile files in (to open in Chrome's DevTools). */
const KEEP = process.env.BENCH_PROFILE_KEEP;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of the monotonic clock, in µs (V8's profile timestamps and process.hrtime share CLOCK_MONOTONIC). */
interface Window {
  from: number;
  to: number;
}
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Self time per node id, in µs, of the samples taken within the window (start-up and warm-up left out). */
function selfTimes(profile: CpuProfile, window: Window): Map<number, number> {
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.from || at > window.to) return;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  return self;
}

/** Where a function lives, short: a package name, the proxy's own file, or Node's internals. */
function owner(url: string): string {
  if (!url) return '(native, GC, idle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const own = /\/dist\/(.+)$/.exec(url);
  if (own) return `prefill-proxy ${own[1]}`;
  if (url.startsWith('node:')) return `node ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  return url;
}

function summarise(profile: CpuProfile, window: Window, requests: number): string {
  const self = selfTimes(profile, window);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const time = self.get(node.id) ?? 0;
    if (!time) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += time;
      continue;
    }
    total += time;
    const where = owner(node.callFrame.url);
    const key = `${name} — ${where}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + time);
    byOwner.set(where, (byOwner.get(where) ?? 0) + time);
  }
  const pct = (time: number) => `${((100 * time) / total).toFixed(1)}%`;
  const perRequest = (time: number) => (time / requests).toFixed(1);
  const lines = [`Busy ${(total / 1e6).toFixed(2)} s over ${requests} requests (${perRequest(total)} µs per request in JavaScript's view; idle ${(idle / 1e6).toFixed(2)} s).`, ''];
  lines.push('| by package or file (self time) | share | µs per request |', '|---|---:|---:|');
  for (const [where, time] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`| ${where} | ${pct(time)} | ${perRequest(time)} |`);
  lines.push('', `| top ${TOP} functions (self time) | share | µs per request |`, '|---|---:|---:|');
  for (const [key, time] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, TOP)) lines.push(`| ${key.replace(/\|/g, '\\|')} | ${pct(time)} | ${perRequest(time)} |`);
  return lines.join('\n');
}

async function stop(service: Service): Promise<void> {
  const exited = new Promise<void>((resolve) => service.child.once('exit', () => resolve()));
  service.child.kill('SIGTERM');
  await exited;
}

const PATHS = [
  { name: 'the pipe (bench/pipe-proxy.mjs, the baseline), not streamed', provider: 'pipe', stream: false },
  { name: 'the pipe (bench/pipe-proxy.mjs, the baseline), streamed', provider: 'pipe', stream: true },
  { name: 'the pipe, streamed, on an upstream that closes after each stream (as llama-server does)', provider: 'pipe', stream: true, closing: true },
  { name: 'the floor (bench/floor-proxy.mjs: Fastify and undici, nothing else), not streamed', provider: 'floor', stream: false },
  { name: 'the floor (bench/floor-proxy.mjs: Fastify and undici, nothing else), streamed', provider: 'floor', stream: true },
  { name: 'the floor, streamed, on an upstream that closes after each stream', provider: 'floor', stream: true, closing: true },
  { name: 'prefill, answer piped (vLLM), not streamed', provider: 'vllm', stream: false },
  { name: 'prefill, answer piped (vLLM), streamed', provider: 'vllm', stream: true },
  { name: 'prefill, answer rewritten (llama.cpp), not streamed', provider: 'llamacpp', stream: false, closing: true },
  { name: 'prefill, answer rewritten (llama.cpp, which closes the connection after each stream), streamed', provider: 'llamacpp', stream: true, closing: true },
] as const;

async function main(): Promise<void> {
  const upstreams = { keepAlive: await startUpstream('upstream', false), closing: await startUpstream('upstream-llama', true) };
  const sections: string[] = [];
  try {
    for (const path of PATHS.filter((candidate) => !ONLY || candidate.name.includes(ONLY))) {
      const upstream = 'closing' in path ? upstreams.closing : upstreams.keepAlive;
      const dir = mkdtempSync(join(tmpdir(), 'prefill-proxy-prof-'));
      process.stderr.write(`profiling: ${path.name}\n`);
      const env = { PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`, UPSTREAM_PROVIDER: path.provider, LOG_LEVEL: 'info' };
      const profiler = ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(path.provider === 'pipe' || path.provider === 'floor' ? [] : NODE_FLAGS)];
      const proxy =
        path.provider === 'pipe' || path.provider === 'floor'
          ? await startService(path.provider, `bench/${path.provider}-proxy.mjs`, { PORT: '0', UPSTREAM_PORT: String(upstream.port) }, profiler)
          : await startService('proxy', 'dist/main.js', env, profiler, DIR);
      const rate = rateFor(path.stream, 'closing' in path);
      if (BOTH) await atFixedRate(proxy.port, proxy.child.pid!, !path.stream, 3, rateFor(!path.stream, 'closing' in path));
      await atFixedRate(proxy.port, proxy.child.pid!, path.stream, 3, rate); // warm-up (JIT), left out of the summary
      const from = nowUs();
      const measured = await atFixedRate(proxy.port, proxy.child.pid!, path.stream, SECONDS, rate);
      const window = { from, to: nowUs() };
      await stop(proxy);
      const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
      if (!file) throw new Error(`no profile written in ${dir}`);
      const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
      if (KEEP) copyFileSync(join(dir, file), join(KEEP, `${path.provider}${path.stream ? '-streamed' : ''}${'closing' in path ? '-closing' : ''}.cpuprofile`));
      rmSync(dir, { recursive: true, force: true });
      const requests = Math.round(measured.rate * SECONDS);
      sections.push(`### ${path.name}\n\n${measured.usPerRequest.toFixed(0)} µs CPU per request at ${measured.rate.toFixed(0)} req/s (from /proc, profiler on).\n\n${summarise(profile, window, requests)}`);
    }
  } finally {
    for (const upstream of Object.values(upstreams)) upstream.child.kill('SIGTERM');
  }
  const text = `Profiled ${new Date().toISOString()}, Node ${process.version}: ${SECONDS} s at ${CPU_RATE} req/s (c=32) per path (streams on the upstream that closes after each: ${RECONNECT_RATE} req/s), after 3 s of warm-up left out of the summary. Self time: a function's own samples, not its callees'; \`(program)\` and \`(garbage collector)\` are V8's, native functions (\`writev\`: socket writes) carry the time of their system calls.\n\n${sections.join('\n\n')}\n`;
  process.stdout.write(`\n${text}`);
  if (process.argv.includes('--write')) {
    const results = readFileSync(`${root}bench/RESULTS.md`, 'utf8');
    const [before] = results.split('<!-- profile -->');
    writeFileSync(`${root}bench/RESULTS.md`, `${before!.trimEnd()}\n\n<!-- profile -->\n\n## Profile\n\n${text}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
