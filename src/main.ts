#!/usr/bin/env -S node --max-semi-space-size=4
// A 4 MB young generation keeps RSS under load near 100 MB instead of 130 MB at no measurable CPU
// cost (bench/RESULTS.md); npm start and the Docker image pass the same flag.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/env.js';

const SHUTDOWN_GRACE_MS = 10_000;

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

  const { provider, providerSource } = config.upstream;
  log.info(
    {
      url,
      provider,
      providerSource,
      upstream: app.proxyContext.upstream.description,
      nativePrefill: app.proxyContext.provider.nativeForm,
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

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.proxyContext.state.draining = true;
    log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const exit = (code: number) => {
      log.flush();
      process.exit(code);
    };
    const force = setTimeout(() => {
      log.warn('in-flight requests did not finish in time; exiting');
      exit(0);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    app.close().then(
      () => exit(0),
      (err: unknown) => {
        log.error({ err }, 'error while shutting down');
        exit(1);
      },
    );
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
