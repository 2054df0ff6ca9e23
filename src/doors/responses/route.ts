import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProxyError } from '../../errors.js';
import type { AppContext } from '../../pipeline/context.js';
import { prepare } from '../../pipeline/prepare.js';
import { run } from '../../pipeline/run.js';
import { runEnvironment, sendResult } from '../send.js';
import { responsesDoor } from './encode.js';
import { toResponsesPipelineRequest } from './request.js';
import { whatUpstreamCannotHonour } from './support.js';

/**
 * POST /v1/responses: OpenAI Responses in, the pipeline's answer out as a Response (or its event
 * stream). The conversation goes through the request model like the chat door's, so every upstream
 * gets the same prefill contract; an upstream that speaks Responses itself (OpenAI) gets a request that
 * is not a prefill as it came, state fields and all, and its answer passes untouched.
 */
export function registerResponses(app: FastifyInstance, context: AppContext): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const converted = toResponsesPipelineRequest(request.body, request.headers);
    // The first route is refused with a 400 for what it cannot honour; a fallback that cannot is passed over.
    converted.request.refuseRoute = (prepared) => whatUpstreamCannotHonour(converted, prepared);
    const door = responsesDoor(converted.body);
    try {
      const prepared = prepare(context, converted.request, request.telemetry);
      const result = await run(prepared, door, runEnvironment(context, request, reply, converted.request));
      return sendResult(reply, result, door, prepared);
    } catch (err) {
      throw inResponsesTerms(err, converted.params);
    }
  };
  app.post('/v1/responses', { config: { door: 'responses' as const } }, handler);
  app.post('/responses', { config: { door: 'responses' as const } }, handler);
}

/**
 * The pipeline names messages and the chat door's flags; a Responses client sent items and statuses.
 * `messages[3]` becomes the item it came from (`input[2]`), `"prefix": true` its `"status": "in_progress"`.
 */
function inResponsesTerms(err: unknown, params: string[]): unknown {
  if (!(err instanceof ProxyError)) return err;
  const param = err.param?.replace(/^messages\[(\d+)\]/, (whole, index: string) => params[Number(index)] ?? whole) ?? null;
  const message = err.message
    .replaceAll('"prefix": true', '"status": "in_progress"')
    .replaceAll('"prefix": false', '"status": "completed"')
    .replaceAll('trailing assistant message', 'final assistant message item');
  if (param === err.param && message === err.message) return err;
  return new ProxyError(err.status, message, { type: err.type, code: err.code, param, headers: err.headers, cause: err.cause });
}
