import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../../errors.js';
import type { AppContext } from '../../pipeline/context.js';
import { prepare } from '../../pipeline/prepare.js';
import { run } from '../../pipeline/run.js';
import type { PipelineRequest, Prepared } from '../../pipeline/types.js';
import type { JsonBody } from '../../providers/types.js';
import { runEnvironment, sendResult } from '../send.js';
import { countTokens } from './count-tokens.js';
import { messagesDoor } from './encode.js';
import { conversionOptions } from './facts.js';
import { toChatRequest, type Uncarried } from './request.js';
import { validateMessages } from './schema.js';

/**
 * POST /v1/messages: Anthropic's Messages API in, the pipeline's answer out as a Message (or its
 * named events), errors in Anthropic's shape. The conversation goes to the pipeline in the request
 * model; the body itself rides along, so an Anthropic upstream gets it as it came.
 * POST /v1/messages/count_tokens: see count-tokens.ts.
 */
export function registerMessages(app: FastifyInstance, context: AppContext): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const { pipelineRequest } = messagesPipelineRequest(context, request);
    const prepared = prepare(context, pipelineRequest, request.telemetry);
    const result = await run(prepared, messagesDoor, runEnvironment(context, request, reply, pipelineRequest));
    return sendResult(reply, result, messagesDoor, prepared);
  };
  const options = { config: { door: 'messages' as const } };
  app.post('/v1/messages', options, handler);
  app.post('/v1/messages/count_tokens', options, (request, reply) => countTokens(context, request, reply));
}

/** A Messages body as the pipeline's request, and what its request model leaves out. */
export function messagesPipelineRequest(context: AppContext, request: FastifyRequest): { pipelineRequest: PipelineRequest; uncarried: Uncarried | undefined } {
  const body = validateMessages(request.body);
  const { chat, uncarried } = toChatRequest(body, conversionOptions(context, request, body.model));
  const pipelineRequest: PipelineRequest = {
    door: 'messages',
    chat,
    // The client's bytes are not the request model's: they never go upstream as they are.
    raw: undefined,
    headers: request.headers,
    options: { stream: body.stream === true, echo: body.echo === true, includeUsage: true, thinkingBudget: chat.reasoning_budget_tokens ?? undefined },
    native: { wire: messagesDoor.wire, body: body as JsonBody },
    // What the request model leaves out goes only to a route that takes the body as it came: the first
    // route is refused with a 400, a fallback that cannot take it is passed over.
    refuseRoute: uncarried ? (prepared) => (goesAsItCame(prepared) ? undefined : uncarriedError(uncarried, prepared)) : undefined,
  };
  return { pipelineRequest, uncarried };
}

/**
 * The first call sends the client's Messages body (to Anthropic), not the request model: the pipeline
 * takes the body for a single call to an upstream of this wire format, unless the prefill falls back.
 */
function goesAsItCame(prepared: Prepared): boolean {
  return !prepared.stage && prepared.route.target.provider.answers.wire === messagesDoor.wire && prepared.first.plan.answer.kind !== 'emulated';
}

function uncarriedError(uncarried: Uncarried, prepared: Prepared) {
  return badRequest(
    `${uncarried.param}: ${uncarried.what} cannot be sent to this upstream (${prepared.route.target.provider.id}); only an Anthropic upstream takes it.`,
    uncarried.param,
  );
}
