/**
 * What a quiet minute costs: the proxy's CPU per request in the first seconds of load after it was
 * idle, with the node flags it runs with (PROXY_NODE_FLAGS) and with V8's memory reducer left on.
 * The reducer collects once a process falls idle and, with it, drops optimised code; the first slice
 * after it then pays for optimising it all again (off the main thread, in V8's compiler threads, and
 * in slower code on it meanwhile). Both proxies stand in front of the llama.cpp-like upstream (whole
 * answers, then streams), idle in turn, and are measured alternately with the bench's fixed rate.
 *
 *   npm run bench:idle                  (BENCH_IDLE_SECONDS=60 BENCH_IDLE_CYCLES=4 BENCH_SECONDS=3)
 *
 * Needs the build. Timed figures are printed, never asserted: this is not a test.
 */
import { CPU_RATE, PROXY_NODE_FLAGS, RECONNECT_RATE, atFixedRate, pinnedWhile, rateFor, startService, startUpstream, type Service } from './services.js';

const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const CYCLES = Number(process.env.BENCH_IDLE_CYCLES ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const upstream = await startUpstream('upstream-llama', true, 20);
const proxy = (name: string, flags: string[]) =>
  startService(name, 'dist/main.js', { PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`, UPSTREAM_PROVIDER: 'llamacpp', LOG_LEVEL: 'info' }, flags);
// startService puts PROXY_NODE_FLAGS first; a later flag of the same name wins.
const proxies: Service[] = [await proxy('as shipped', []), await proxy('with the memory reducer', ['--memory-reducer'])];
const sleep = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const rows: string[] = [];

try {
  for (const server of proxies) {
    await atFixedRate(server.port, server.child.pid!, false, SECONDS);
    await atFixedRate(server.port, server.child.pid!, true, SECONDS, rateFor(true, true));
  }
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    process.stderr.write(`cycle ${cycle}/${CYCLES}: ${IDLE_SECONDS} s idle\n`);
    await sleep(IDLE_SECONDS);
    for (const server of proxies) {
      const pid = server.child.pid!;
      const whole = await pinnedWhile(pid, [upstream.child.pid!], () => atFixedRate(server.port, pid, false, SECONDS));
      const stream = await pinnedWhile(pid, [upstream.child.pid!], () => atFixedRate(server.port, pid, true, SECONDS, rateFor(true, true)));
      const row = `| ${cycle} | ${server.name} | ${whole.usPerRequest.toFixed(0)} (${whole.helpersUsPerRequest.toFixed(0)}) | ${stream.usPerRequest.toFixed(0)} (${stream.helpersUsPerRequest.toFixed(0)}) |`;
      process.stderr.write(`${row}\n`);
      rows.push(row);
    }
  }
} finally {
  for (const server of [...proxies, upstream]) server.child.kill();
}

process.stdout.write(
  [
    `CPU µs per request in the first ${SECONDS} s of load after ${IDLE_SECONDS} s idle (off the main thread in brackets); whole answers at ${CPU_RATE} req/s, then streams at ${RECONNECT_RATE}; node ${process.version}, flags as shipped: ${PROXY_NODE_FLAGS.join(' ')}`,
    '',
    '| cycle | proxy | whole | streamed |',
    '|---:|---|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
);
