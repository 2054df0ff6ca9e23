import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { pino, type DestinationStream } from 'pino';
import { ClientKeys } from './auth/keys.js';
import { Secrets } from './auth/secrets.js';
import type { Config, UpstreamSpec } from './config/types.js';
import { chatDoor } from './doors/chat/encode.js';
import { registerChatCompletions } from './doors/chat/route.js';
import { messagesDoor } from './doors/messages/encode.js';
import { registerMessages } from './doors/messages/route.js';
import { responsesDoor } from './doors/responses/encode.js';
import { registerResponses } from './doors/responses/route.js';
import './doors/fastify.js';
import { registerHealth } from './doors/health.js';
import { registerMetrics } from './doors/metrics.js';
import { registerModelInfo } from './doors/model-info.js';
import { registerModels } from './doors/models.js';
import { nestedDeeperThan } from './doors/json-depth.js';
import { passthroughRoutes } from './doors/passthrough.js';
import { registerPreview } from './doors/preview.js';
import { ProxyError, proxyError } from './errors.js';
import type { AppContext } from './pipeline/context.js';
import type { Door } from './pipeline/types.js';
import { RequestTelemetry } from './pipeline/telemetry.js';
import { CapabilityMemory } from './providers/capability-memory.js';
import { MockUpstream } from './providers/mock/model.js';
import { Router } from './routing/router.js';
import { AccessLog } from './telemetry/access-log.js';
import { loggerOptions } from './telemetry/logger.js';
import { Metrics } from './telemetry/metrics.js';
import { ClientGone } from './upstream/client-gone.js';
import { HttpUpstream } from './upstream/http-upstream.js';
import { defaultCredentialChain } from './upstream/aws-credentials.js';
import { SigV4Upstream, type AwsCredentialSource } from './upstream/signed-upstream.js';
import type { Upstream } from './upstream/types.js';

const OPEN_PATHS = new Set(['/health', '/ready', '/metrics']);

/** The front doors, by the id their routes carry in `config.door`. */
const DOORS: Partial<Record<string, Door>> = { chat: chatDoor, messages: messagesDoor, responses: responsesDoor() };
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface BuildOptions {
  /** Replaces the upstream chosen from the config (tests). */
  upstream?: Upstream;
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream;
}

/** The proxy as a Fastify instance, without listen(): main.ts listens, tests use port 0 or inject(). */
export function buildApp(config: Config, options: BuildOptions = {}): FastifyInstance {
  // Buffered, asynchronous writes: a synchronous write per log line costs more than the rest of a request.
  const log = pino(loggerOptions(config.logLevel), options.logDestination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const metrics = new Metrics();
  const accessLog = new AccessLog(log);
  const fixedKeys = (upstream: Pick<UpstreamSpec, 'aws'>) => (upstream.aws?.credentials === 'default-chain' ? undefined : upstream.aws?.credentials);
  const secrets = new Secrets([
    ...config.proxyApiKeys,
    config.upstream.apiKey,
    ...config.routing.upstreams.map((upstream) => upstream.apiKey),
    // AWS secret keys never go on the wire; session tokens do (x-amz-security-token) and may come back in an error.
    ...[config.upstream, ...config.routing.upstreams].flatMap((upstream) => [fixedKeys(upstream)?.secretAccessKey, fixedKeys(upstream)?.sessionToken]),
  ]);
  /** Credentials from AWS's default chain: one chain per upstream (its chat and passthrough clients share it); each set it loads is kept out of what clients get. */
  const chains = new Map<string, AwsCredentialSource>();
  const credentialSource = (spec: UpstreamSpec, credentials: NonNullable<NonNullable<UpstreamSpec['aws']>['credentials']>): AwsCredentialSource => {
    if (credentials !== 'default-chain') return credentials;
    let chain = chains.get(spec.name);
    if (!chain) {
      chain = defaultCredentialChain((loaded) => {
        secrets.replace(spec.name, [loaded.secretAccessKey, loaded.sessionToken]);
        log.info({ upstream: spec.name, expiration: loaded.expiration }, "AWS credentials loaded from AWS's default chain");
      }, spec.connectTimeoutMs);
      chains.set(spec.name, chain);
    }
    return chain;
  };
  const clientFor = (spec: UpstreamSpec, use: 'chat' | 'passthrough'): Upstream => {
    if (spec.origin === undefined) return new MockUpstream();
    const http = new HttpUpstream({ ...spec, origin: spec.origin, connections: use === 'passthrough' ? config.passthroughMaxInFlight : undefined });
    // AWS upstreams (Bedrock) with credentials: every request signed (SigV4) just before it is sent.
    const aws = spec.aws;
    if (aws?.credentials && aws.region) {
      return new SigV4Upstream(http, { service: aws.service, region: aws.region, credentials: credentialSource(spec, aws.credentials), origin: spec.origin, basePath: spec.basePath });
    }
    return http;
  };
  const router = new Router(config, config.routing, (spec, use) =>
    options.upstream && spec.name === (config.routing.defaultUpstream ?? config.routing.upstreams[0]!.name) ? options.upstream : clientFor(spec, use),
  );
  const context: AppContext = {
    config,
    router,
    metrics,
    state: { draining: false, passthroughInFlight: 0 },
    log,
    secrets,
    prefillCapabilities: new CapabilityMemory(config.prefillCapability.ttlMs, config.prefillCapability.maxEntries),
    streams: new Set(),
  };

  const app = Fastify({
    // Fastify's own request logging (a child logger per request, two lines each) is off: the proxy
    // writes one line per request itself, from the onResponse hook below.
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // The whole request (headers and body) must arrive within this; answers are not bounded by it
    // (streams may run for minutes: the upstream timeouts bound them). Node checks it on a timer: a
    // short period keeps a stalled upload from holding its socket much past the limit.
    // (Node enforces it only when given at the server's creation, hence `http` too.)
    requestTimeout: config.requestTimeoutMs,
    http: { requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs) },
    forceCloseConnections: 'idle',
  });
  app.decorate('proxyContext', context);
  app.decorateRequest('rawBody', null);
  app.decorateRequest('telemetry', null as unknown as RequestTelemetry);
  app.decorateRequest('clientGone', null as unknown as ClientGone);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (nestedDeeperThan(raw, config.maxJsonDepth)) {
      done(proxyError('request_too_deep', `The request body nests arrays and objects more than ${config.maxJsonDepth} levels deep (MAX_JSON_DEPTH).`), undefined);
      return;
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch (err) {
      done(
        proxyError('invalid_json', `The request body is not valid JSON: ${(err as Error).message}`, { cause: err }),
        undefined,
      );
    }
  });

  const keys = new ClientKeys(config.proxyApiKeys);
  app.addHook('onRequest', (request, reply, done) => {
    request.telemetry = new RequestTelemetry(metrics, log, request.id, performance.now());
    reply.header('x-request-id', request.id);
    metrics.inFlightNow++;
    const clientGone = new ClientGone();
    request.clientGone = clientGone;
    // 'close' comes for every response, finished or cut, unlike onResponse: one listener per request
    // counts it out and, when it closed unfinished, aborts its upstream request.
    const raw = reply.raw;
    raw.once('close', () => {
      metrics.inFlightNow--;
      if (!raw.writableFinished) clientGone.cut();
    });
    // Health, readiness and metrics answer GET and HEAD to anyone; every other method and path needs the key.
    if (!keys.enabled || ((request.method === 'GET' || request.method === 'HEAD') && OPEN_PATHS.has(request.url.split('?')[0]!))) return done();
    try {
      keys.check(request.headers);
      done();
    } catch (err) {
      done(err as ProxyError);
    }
  });

  app.addHook('onResponse', (request, reply, done) => {
    const telemetry = request.telemetry;
    if (telemetry.upstreamCalls > 0) metrics.upstreamCalls.observe('', telemetry.upstreamCalls);
    metrics.answered.add({
      route: request.routeOptions.url ?? 'unknown',
      model: telemetry.routeLabel ?? '',
      provider: telemetry.providerId ?? '',
      prefill: telemetry.prefill ?? '',
      status: reply.statusCode,
    });
    accessLog.write({
      reqId: request.id,
      method: request.method,
      url: request.url.split('?')[0]!,
      model: telemetry.model,
      provider: telemetry.providerId,
      prefill: telemetry.prefill,
      status: reply.statusCode,
      upstreamCalls: telemetry.upstreamCalls,
      upstreams: telemetry.upstreams,
      resumes: telemetry.resumes,
      fallbacks: telemetry.fallbacks,
      streamError: telemetry.streamError,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    });
    done();
  });

  app.setErrorHandler((error: FastifyError | ProxyError, request, reply) => {
    const raised = toProxyError(error);
    // An upstream's message may echo a key: no error leaves the proxy, or reaches its log, with one.
    const proxyError = new ProxyError(raised.status, secrets.forRequest(request.headers).redact(raised.message), {
      type: raised.type,
      code: raised.code,
      param: raised.param,
      headers: raised.headers,
      cause: raised.cause,
    });
    if (proxyError.status >= 500) {
      log.error({ reqId: request.id, err: proxyError.cause ?? proxyError, code: proxyError.code }, proxyError.message);
    }
    if (reply.raw.headersSent || reply.raw.destroyed) return;
    if (proxyError.headers) reply.headers(proxyError.headers);
    // A door's answers all say how the prefill was served (an error served none), and its errors are
    // in its own shape; other routes answer in OpenAI's.
    const door = DOORS[request.routeOptions.config?.door ?? 'none'];
    if (door) reply.header('x-prefill', 'none');
    reply
      .code(proxyError.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send(door ? door.errorBody(proxyError) : proxyError.toJSON());
  });

  registerHealth(app, context);
  registerMetrics(app, context);
  registerModelInfo(app, context);
  registerPreview(app, context);
  registerModels(app, context);
  registerChatCompletions(app, context);
  registerMessages(app, context);
  registerResponses(app, context);
  app.register((scope, _opts, done) => {
    passthroughRoutes(scope, context).then(() => done(), done);
  });

  // Log lines are written in batches; a quiet proxy still shows them within a second.
  const logFlusher = options.logDestination ? undefined : setInterval(() => log.flush(), 1000);
  logFlusher?.unref();
  app.addHook('onClose', async () => {
    if (logFlusher) clearInterval(logFlusher);
    log.flush();
    await router.close();
  });
  return app;
}

function toProxyError(error: FastifyError | ProxyError): ProxyError {
  if (error instanceof ProxyError) return error;
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return proxyError('request_too_large', 'The request body is larger than the proxy accepts (BODY_LIMIT_BYTES).');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return proxyError('unsupported_media_type', 'Send the request body as JSON with "Content-Type: application/json".', { param: 'content-type' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return proxyError('invalid_json', 'The request body is empty; a JSON object was expected.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return proxyError('invalid_request', 'The Content-Length header does not match the body.');
  }
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status < 500) return new ProxyError(status, error.message, { code: error.code ?? null });
  return proxyError('internal_error', 'The proxy failed to handle the request.', { cause: error });
}

declare module 'fastify' {
  interface FastifyInstance {
    proxyContext: AppContext;
  }
}
