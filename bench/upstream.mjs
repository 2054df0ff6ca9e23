// A fast mock model server for benchmarks: answers chat completions from precomputed buffers.
//   PORT=0 SSE_CHUNKS=20 SSE_INTERVAL_MS=0 CLOSE_AFTER_STREAM=0 node bench/upstream.mjs   (prints "listening <port>")
// Non-streamed: a small chat.completion. Streamed: SSE_CHUNKS content events, SSE_INTERVAL_MS apart
// (or the request's x-bench-interval; 0: written back to back), then a finish event and [DONE].
// CLOSE_AFTER_STREAM=1 models llama-server, which closes the connection after every streamed answer
// (both real builds in ../shared/llama; whole answers keep it). llama-server does not say so; this
// mock does (`Connection: close`), so that a client which would write its next request on that
// connection (the pipe, an older build) reconnects instead of failing now and then: every client
// then pays what it pays against the real server, a connect per stream.
import { createServer } from 'node:http';

const chunks = Number(process.env.SSE_CHUNKS ?? 20);
const defaultInterval = Number(process.env.SSE_INTERVAL_MS ?? 0);
const closeAfterStream = process.env.CLOSE_AFTER_STREAM === '1';
const streamHeaders = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...(closeAfterStream ? { connection: 'close' } : {}) };

const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1788000000,
    model: 'bench',
    choices: [{ index: 0, message: { role: 'assistant', content: ' there was a fox who crossed the river.' }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29 },
  }),
);
const event = (delta, finish) =>
  Buffer.from(
    `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1788000000, model: 'bench', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
  );
const roleEvent = event({ role: 'assistant', content: '' }, null);
const tokenEvents = Array.from({ length: chunks }, (_, i) => event({ content: ` w${i}` }, null));
const finishEvent = event({}, 'stop');
const done = Buffer.from('data: [DONE]\n\n');

const server = createServer((req, res) => {
  const body = [];
  req.on('data', (chunk) => body.push(chunk));
  req.on('end', () => {
    // A substring test is enough to tell streamed requests apart, and costs no JSON parse.
    const stream = Buffer.concat(body).includes('"stream":true');
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length });
      res.end(completion);
      return;
    }
    // A client may ask for its own spacing (the runner's time-to-first-byte and coalescing checks).
    const interval = Number(req.headers['x-bench-interval'] ?? defaultInterval);
    res.writeHead(200, streamHeaders);
    res.write(roleEvent);
    if (interval <= 0) {
      for (const e of tokenEvents) res.write(e);
      res.write(finishEvent);
      res.end(done);
      return;
    }
    let i = 0;
    const timer = setInterval(() => {
      if (i < tokenEvents.length) {
        res.write(tokenEvents[i++]);
        return;
      }
      clearInterval(timer);
      res.write(finishEvent);
      res.end(done);
    }, interval);
    res.on('close', () => clearInterval(timer));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
