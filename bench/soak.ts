/**
 * Soak: prefill-proxy under a constant request rate for a while, in front of the fast mock upstream.
 * Passes when no request failed and the proxy's RSS stayed flat (the last sample within 15% of the
 * first one taken after a minute's warm-up... or of the first, for shorter runs).
 *
 *   npm run soak                       (SOAK_MINUTES=2 SOAK_RATE=300)
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROXY_NODE_FLAGS } from './services.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 2);
const RATE = Number(process.env.SOAK_RATE ?? 300);
const root = fileURLToPath(new URL('..', import.meta.url));

function start(script: string, args: string[], env: Record<string, string>, pattern: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...args, script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (!match) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({ child, port: Number(match[1]) });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const upstream = await start('bench/upstream.mjs', [], { PORT: '0' }, /listening (\d+)/);
  const proxy = await start(
    'dist/main.js',
    PROXY_NODE_FLAGS,
    { PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${upstream.port}`, UPSTREAM_PROVIDER: 'llamacpp' },
    /"url":"http:\/\/127\.0\.0\.1:(\d+)"/,
  );
  const body = (stream: boolean) =>
    JSON.stringify({ model: 'bench', stream, messages: [{ role: 'user', content: 'Tell me a story.' }, { role: 'assistant', content: 'Once upon a time' }] });
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb(proxy.child.pid!)), 10_000);
  try {
    process.stderr.write(`soak: ${RATE} requests/s for ${MINUTES} min (half streamed)\n`);
    const result = await autocannon({
      url: `http://127.0.0.1:${proxy.port}`,
      connections: 16,
      overallRate: RATE,
      duration: MINUTES * 60,
      requests: [
        { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: body(false) },
        { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: body(true) },
      ],
    });
    clearInterval(sampler);
    samples.push(rssMb(proxy.child.pid!));
    const reference = samples[Math.min(samples.length - 1, 6)] ?? samples[0]!;
    const last = samples[samples.length - 1]!;
    const growth = (last - reference) / reference;
    process.stdout.write(
      `requests: ${result.requests.total}, errors: ${result.errors}, non-2xx: ${result.non2xx}, timeouts: ${result.timeouts}\n` +
        `RSS MB every 10 s: ${samples.map((value) => value.toFixed(1)).join(' ')}\n` +
        `RSS change after warm-up: ${(growth * 100).toFixed(1)}%\n`,
    );
    const ok = result.errors === 0 && result.non2xx === 0 && result.timeouts === 0 && growth < 0.15;
    process.stdout.write(ok ? 'soak passed\n' : 'soak FAILED\n');
    process.exitCode = ok ? 0 : 1;
  } finally {
    clearInterval(sampler);
    proxy.child.kill('SIGTERM');
    upstream.child.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
