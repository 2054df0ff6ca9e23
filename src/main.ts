#!/usr/bin/env -S node --max-semi-space-size=4 --no-memory-reducer
// A 4 MB young generation keeps RSS under load near 100 MB instead of 130 MB, for more time spent
// collecting (on llama.cpp streams ~25 µs per stream against 8-16 MB; bench/RESULTS.md). Without
// the memory reducer, a quiet minute does not cost the optimised code: on Node 20, V8's reducer
// collects when the process goes idle and drops it, so the next burst paid up to twice the CPU per
// request for seconds while ~450 functions were optimised again (bench/RESULTS.md). npm start and
// the Docker image pass the same flags (test/unit/runtime-flags.test.ts).
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/env.js';
import type { Config } from './config/types.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`prefill-proxy: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = buildApp(config);
  const log = app.proxyContext.log;
  const url = await app.listen({ host: config.host, port: config.port });

  const router = app.proxyContext.router;
  log.info(
    {
      url,
      routing: config.routing.source,
      upstreams: [...router.targets.values()].map((target) => ({
        name: target.spec.name,
        provider: target.provider.id,
        providerSource: target.spec.providerSource,
        url: target.client.description,
        prefill: target.provider.nativeForm,
      })),
      models: config.routing.models.map((model) => model.name),
      prefillFallback: config.prefillFallback,
      prefillMode: config.prefillMode,
      auth: config.proxyApiKeys.length > 0 ? `${config.proxyApiKeys.length} key(s)` : 'open',
    },
    'prefill-proxy ready',
  );
  if (config.proxyApiKeys.length === 0 && !isLoopback(config.host)) {
    log.warn(`listening on ${config.host} with no PROXY_API_KEYS: anyone who can reach this port can use the upstream`);
  }
  log.flush();

  installShutdown(app, config, log);
}

/**
 * SIGTERM / SIGINT: `/ready` answers 503 at once (so a load balancer stops sending new work), new
 * connections are refused after SHUTDOWN_DELAY_MS (0 by default; give Kubernetes a few seconds to
 * notice), in-flight requests and streams finish, and the process exits 0. Those still running after
 * SHUTDOWN_GRACE_MS are cut and the process exits 0 all the same. A second signal exits at once.
 */
function installShutdown(app: ReturnType<typeof buildApp>, config: Config, log: ReturnType<typeof buildApp>['proxyContext']['log']): void {
  let stopping = false;
  const exit = (code: number) => {
    log.flush();
    process.exit(code);
  };
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(0);
    }
    stopping = true;
    app.proxyContext.state.draining = true;
    const delay = signal === 'SIGTERM' ? config.shutdownDelayMs : 0;
    log.info({ signal, delayMs: delay, graceMs: config.shutdownGraceMs }, 'shutting down: not ready, finishing in-flight requests');
    log.flush();
    const force = setTimeout(() => {
      // Streams still running are told why they end (an error event, never a silent cut), then the
      // process exits once those last bytes had a moment to leave.
      const streams = app.proxyContext.streams;
      log.warn({ streams: streams.size }, 'in-flight requests did not finish in time; exiting');
      for (const stream of [...streams]) stream.shutdown();
      setTimeout(() => exit(0), streams.size > 0 ? 200 : 0).unref();
    }, delay + config.shutdownGraceMs);
    force.unref();
    setTimeout(() => {
      // A keep-alive connection whose last response just finished would hold the close open until it
      // times out: close each as soon as it goes idle.
      const sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
      sweeper.unref();
      app.close().then(
        () => {
          log.info('in-flight requests finished; exiting');
          exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          exit(1);
        },
      );
    }, delay);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

main().catch((err: unknown) => {
  process.stderr.write(`prefill-proxy: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
