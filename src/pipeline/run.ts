import type { RequestSecrets } from '../auth/secrets.js';
import type { UpstreamLimits } from '../config/types.js';
import type { CancelSignal } from '../upstream/client-gone.js';
import type { CallContext } from './call.js';
import { routeSettings } from './plan.js';
import { runStream } from './stream.js';
import type { RequestTelemetry } from './telemetry.js';
import type { Door, PipelineResult, Prepared } from './types.js';
import { runWhole } from './whole.js';

/**
 * The pipeline's second half: call the upstream (retries, recovery, fallback), then read the answer
 * whole or relay it as a stream, through the follow-up stage when one applies. The result is
 * door-neutral (or the upstream's own bytes, when the door speaks the upstream's format).
 */
/** What one request's run needs besides the request: its client, telemetry and the app's bounds. */
export interface RunEnvironment {
  signal: CancelSignal;
  telemetry: RequestTelemetry;
  limits: UpstreamLimits;
  secrets: RequestSecrets;
  /** Where live streams register, so a shutdown can end them with an error event. */
  streams: Set<{ shutdown(): void }>;
}

export function run(prepared: Prepared, door: Door, env: RunEnvironment): Promise<PipelineResult> {
  const { signal, telemetry, limits, secrets } = env;
  const { provider, client, spec, memory } = prepared.route.target;
  const call: CallContext = {
    provider,
    upstream: client,
    settings: routeSettings(prepared.route),
    headers: prepared.upstreamHeaders,
    signal,
    retry: spec.retry,
    telemetry,
    stream: prepared.request.options.stream,
    memory,
    limits,
    secrets,
    streams: env.streams,
  };
  return prepared.request.options.stream ? runStream(call, prepared, door, signal) : runWhole(call, prepared, door);
}
