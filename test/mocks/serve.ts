/**
 * Runs one of the mock upstreams by hand, to try the proxy (or its container) against it:
 *   npx tsx test/mocks/serve.ts <llamacpp|vllm|openai|deepseek|mistral|anthropic> [port]
 * Keys the mocks expect: deepseek sk-deepseek, mistral sk-mistral, anthropic sk-ant-test.
 */
import { startAnthropic } from './anthropic.js';
import { startDeepSeek } from './deepseek.js';
import { startLlamaCpp } from './llamacpp.js';
import { startMistral } from './mistral.js';
import { startOpenAI } from './openai.js';
import type { MockServer } from './server.js';
import { startVllm } from './vllm.js';

const starters: Record<string, (options: { port: number }) => Promise<MockServer>> = {
  llamacpp: startLlamaCpp,
  vllm: startVllm,
  openai: startOpenAI,
  deepseek: startDeepSeek,
  mistral: startMistral,
  anthropic: startAnthropic,
};

const [kind = 'llamacpp', port = '0'] = process.argv.slice(2);
const start = starters[kind];
if (!start) {
  process.stderr.write(`unknown mock "${kind}": use one of ${Object.keys(starters).join(', ')}\n`);
  process.exit(2);
}
const server = await start({ port: Number(port) });
process.stdout.write(`${kind} mock listening on ${server.url}\n`);
