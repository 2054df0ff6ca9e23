/**
 * Runs one of the mock upstreams by hand, for trying the proxy (or its container) against it:
 *   npx tsx test/mocks/serve.ts llamacpp 8080
 */
import { startLlamaCpp } from './llamacpp.js';
import { startOpenAI } from './openai.js';
import { startVllm } from './vllm.js';

const [kind = 'llamacpp', port = '0'] = process.argv.slice(2);
const options = { port: Number(port) };
const server =
  kind === 'vllm' ? await startVllm(options) : kind === 'openai' ? await startOpenAI(options) : await startLlamaCpp(options);
process.stdout.write(`${kind} mock listening on ${server.url}\n`);
