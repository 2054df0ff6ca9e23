// The floor of the proxy's stack: Fastify (JSON body parsed) and an undici Pool, the body re-serialized
// and the answer read whole (or a stream relayed), nothing else. The gap between the pipe and this is
// the stack's cost; the gap between this and prefill-proxy is the proxy's own work.
//   UPSTREAM_PORT=… PORT=0 node bench/floor-proxy.mjs
import Fastify from 'fastify';
import { Pool } from 'undici';

const pool = new Pool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, { connections: 256, pipelining: 1 });
const app = Fastify({ logger: false });
app.post('/v1/chat/completions', async (request, reply) => {
  const body = request.body;
  const response = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: {
      'content-type': 'application/json',
      accept: body.stream ? 'text/event-stream' : 'application/json',
      // The bench's timed streams (events 5 ms apart) ask the mock upstream through this header.
      ...(request.headers['x-bench-interval'] ? { 'x-bench-interval': request.headers['x-bench-interval'] } : {}),
    },
    body: JSON.stringify(body),
  });
  reply.code(response.statusCode).header('content-type', response.headers['content-type']);
  if (body.stream) return reply.send(response.body);
  return reply.send(Buffer.from(await response.body.arrayBuffer()));
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${app.server.address().port}\n`);
process.on('SIGTERM', () => process.exit(0));
