/**
 * Where the proxy's allocations come from: the app run in this process (from src/, through tsx) under a
 * fixed load, with V8's sampling heap profiler counting every sampled allocation, collected or not;
 * printed per allocating function and its caller, in KB per request. The load generator's own
 * allocations are left out.
 *
 *   npx tsx bench/allocation-sites.ts            (PROVIDER=vllm|llamacpp, STREAM=1 for streams)
 */
import { Session } from 'node:inspector/promises';
import autocannon from 'autocannon';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/env.js';
import { startUpstream, prefillBody } from './services.js';
const provider = process.env.PROVIDER ?? 'vllm';
const stream = process.env.STREAM === '1';
// llama.cpp's upstream closes the connection after each stream, as llama-server does.
const up = await startUpstream('upstream', provider === 'llamacpp');
const app = buildApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', UPSTREAM_URL: `http://127.0.0.1:${up.port}`, UPSTREAM_PROVIDER: provider, LOG_LEVEL: 'info' }), { logDestination: { write() {} } as never });
await app.listen({ port: 0, host: '127.0.0.1' });
const port = (app.server.address() as AddressInfo).port;
const load = (seconds: number) => autocannon({ url: `http://127.0.0.1:${port}/v1/chat/completions`, method: 'POST', headers: { 'content-type': 'application/json' }, body: prefillBody(stream), connections: 32, overallRate: 1000, duration: seconds });
await load(2);
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as never);
const r = await load(4);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: N } };
interface N { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: N[] }
const by = new Map<string, number>();
const requests = r['2xx'];
const walk = (n: N, parent: string, ac: boolean) => {
  const url = n.callFrame.url;
  const inAc = ac || /autocannon|hdr-histogram|bench\/allocation-sites/.test(url);
  const name = `${n.callFrame.functionName || '(anon)'} ${url.replace(/.*\/(node_modules\/[^/]+|src)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  if (n.selfSize && !inAc) { const k = `${name}  <- ${parent}`; by.set(k, (by.get(k) ?? 0) + n.selfSize); }
  for (const c of n.children) walk(c, name, inAc);
};
walk(profile.head, '', false);
const total = [...by.values()].reduce((a, b) => a + b, 0);
console.log(`${(total / 1024 / requests).toFixed(1)} KB/request`);
for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${(v / 1024 / requests).toFixed(2)} KB  ${k}`);
await app.close(); up.child.kill();
