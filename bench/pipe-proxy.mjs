// The thinnest useful Node proxy, the baseline: node:http with a keep-alive agent, bytes piped both
// ways, nothing parsed.   UPSTREAM_PORT=… PORT=0 node bench/pipe-proxy.mjs
import { Agent, createServer, request } from 'node:http';

const upstreamPort = Number(process.env.UPSTREAM_PORT);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

// Hop-by-hop headers describe one connection, not the message (RFC 9110 §7.6.1): an upstream's
// `Connection: close` must not close the client's connection too.
const hopByHop = new Set(['connection', 'keep-alive']);
const endToEnd = (headers) => {
  const kept = {};
  for (const name in headers) if (!hopByHop.has(name)) kept[name] = headers[name];
  return kept;
};

const server = createServer((req, res) => {
  const upstream = request(
    { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers, agent },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.headers));
      upstreamRes.pipe(res);
    },
  );
  upstream.on('error', () => {
    res.statusCode = 502;
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
// Exit normally on SIGTERM, so a CPU profile (--cpu-prof) is written.
process.on('SIGTERM', () => process.exit(0));
