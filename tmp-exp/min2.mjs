import Fastify, { LogController } from 'fastify';
import { pino } from 'pino';
import { Pool } from 'undici';
import { randomUUID } from 'node:crypto';
const pool = new Pool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, { connections: 256 });
const steps = new Set((process.env.STEPS ?? '').split(','));
const app = Fastify(steps.has('logger') ? { loggerInstance: pino({ level: 'info' }, pino.destination({ dest: 1, sync: false, minLength: 4096 })), logController: new LogController({ disableRequestLogging: true }), genReqId: () => randomUUID() } : { logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => { req.rawBody = body; done(null, JSON.parse(body.toString())); });
if (steps.has('asynchooks')) {
  app.addHook('onRequest', async (request, reply) => { reply.header('x-request-id', request.id); });
  app.addHook('onResponse', async (request, reply) => { request.log.info({ method: request.method, url: request.url, status: reply.statusCode, durationMs: reply.elapsedTime }, 'request'); });
}
if (steps.has('synchooks')) {
  app.addHook('onRequest', (request, reply, done) => { reply.header('x-request-id', request.id); done(); });
  app.addHook('onResponse', (request, reply, done) => { request.log.info({ method: request.method, url: request.url, status: reply.statusCode, durationMs: reply.elapsedTime }, 'request'); done(); });
}
app.post('/v1/chat/completions', async (request, reply) => {
  let signal;
  if (steps.has('abort')) { const a = new AbortController(); signal = a.signal; reply.raw.on('close', () => { if (!reply.raw.writableFinished) a.abort(); }); }
  const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: request.rawBody, signal });
  reply.code(res.statusCode).header('content-type', res.headers['content-type']);
  return reply.send(Buffer.from(await res.body.arrayBuffer()));
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => console.log('listening', process.env.PORT));
