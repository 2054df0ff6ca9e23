import Fastify from 'fastify';
import { Pool } from 'undici';
const pool = new Pool(`http://127.0.0.1:${process.env.UPSTREAM_PORT}`, { connections: 256 });
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => { req.rawBody = body; done(null, JSON.parse(body.toString())); });
const mode = process.env.MODE;
app.post('/v1/chat/completions', async (request, reply) => {
  const body = mode === 'stringify' ? JSON.stringify(request.body) : request.rawBody;
  const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
  reply.code(res.statusCode).header('content-type', res.headers['content-type']);
  if (mode === 'buffer' || mode === 'stringify') { const buf = Buffer.from(await res.body.arrayBuffer()); return reply.send(buf); }
  return reply.send(res.body);
});
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => console.log('listening', process.env.PORT));
