/**
 * Memory allocated per request (a steady figure, unlike CPU time on shared cores): each server run
 * with --trace-gc and held at a fixed rate; the bytes its scavenges freed, divided by the requests.
 * Allocation drives the garbage collector's share of the CPU.
 *
 *   npm run bench:allocations             (BENCH_CPU_RATE=1500, 5 s per path after 3 s of warm-up)
 */
import { CPU_RATE, RECONNECT_RATE, atFixedRate, rateFor, startService, startUpstream, type Service } from './services.js';

const SECONDS = 5;
const PATHS = [
  { name: 'pipe', script: 'bench/pipe-proxy.mjs' },
  { name: 'pipe, on an upstream that closes after each stream (as llama-server does)', script: 'bench/pipe-proxy.mjs', closing: true },
  { name: 'floor', script: 'bench/floor-proxy.mjs' },
  { name: 'proxy (prefill, answer piped: vLLM)', provider: 'vllm' },
  { name: 'proxy-rewrite (prefill, answer rewritten: llama.cpp, closing after each stream)', provider: 'llamacpp', closing: true },
] as const;

const SCAVENGE = /Scavenge[^\n]*? (\d+\.\d+) \((\d+\.\d+)\) -> (\d+\.\d+) \((\d+\.\d+)\) MB/g;

async function main(): Promise<void> {
  const upstreams = { keepAlive: await startUpstream('upstream', false), closing: await startUpstream('upstream-llama', true) };
  const lines = ['| server | KB per request, not streamed | scavenges | KB per request, streamed | scavenges |', '|---|---:|---:|---:|---:|'];
  try {
    for (const path of PATHS) {
      const upstream = 'closing' in path ? upstreams.closing : upstreams.keepAlive;
      const cells: string[] = [];
      for (const stream of [false, true]) {
        const server: Service =
          'script' in path
            ? await startService(path.name, path.script, { PORT: '0', UPSTREAM_PORT: String(upstream.port) }, ['--trace-gc'])
            : await startService(path.name, 'dist/main.js', { PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`, UPSTREAM_PROVIDER: path.provider, LOG_LEVEL: 'info' }, ['--trace-gc']);
        const rate = rateFor(stream, 'closing' in path);
        await atFixedRate(server.port, server.child.pid!, stream, 3, rate);
        let trace = '';
        server.child.stdout!.on('data', (chunk: Buffer) => (trace += chunk.toString()));
        const measured = await atFixedRate(server.port, server.child.pid!, stream, SECONDS, rate);
        server.child.kill('SIGTERM');
        let freedMb = 0;
        let scavenges = 0;
        for (const match of trace.matchAll(SCAVENGE)) {
          freedMb += Number(match[1]) - Number(match[3]);
          scavenges++;
        }
        const requests = measured.rate * SECONDS;
        cells.push(((freedMb * 1024) / requests).toFixed(1), String(scavenges));
      }
      lines.push(`| ${path.name} | ${cells.join(' | ')} |`);
    }
  } finally {
    for (const upstream of Object.values(upstreams)) upstream.child.kill('SIGTERM');
  }
  process.stdout.write(`Allocated per request at ${CPU_RATE} req/s (streams on the upstream that closes after each: ${RECONNECT_RATE}), c=32, ${SECONDS} s (Node ${process.version}; the proxies with the flags \`npm start\` uses):\n\n${lines.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`allocations failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
