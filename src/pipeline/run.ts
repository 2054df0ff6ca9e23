import { runStream } from './stream.js';
import { Fallbacks, routeRun, type RunEnvironment } from './route-run.js';
import type { Door, PipelineResult, Prepared } from './types.js';
import { runWhole } from './whole.js';

export type { RunEnvironment } from './route-run.js';

/**
 * The pipeline's second half: call the upstream (retries, recovery, fallback), then read the answer
 * whole or relay it as a stream, through the follow-up stage when one applies. When the upstream
 * fails before the answer began (unreachable, 429, 5xx, after the retries), the model's configured
 * `fallbacks` are tried in order (those the request's door refuses, `refuseRoute`, passed over). The result is door-neutral (or the upstream's own bytes, when the
 * door speaks the upstream's format).
 */
export async function run(prepared: Prepared, door: Door, env: RunEnvironment): Promise<PipelineResult> {
  const refused = prepared.request.refuseRoute?.(prepared);
  if (refused) throw refused;
  const fallbacks = new Fallbacks(prepared, env);
  let current = routeRun(prepared, env);
  for (;;) {
    env.telemetry.upstreamStarted(current.prepared.route.target.spec.name);
    try {
      const result = current.prepared.request.options.stream ? await runStream(current, door, env, fallbacks) : await runWhole(current, door);
      result.upstream = current.prepared.route.target.spec.name;
      return result;
    } catch (err) {
      const next = fallbacks.after(err);
      if (!next) throw err;
      current = next;
    }
  }
}

