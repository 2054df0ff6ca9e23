import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatRequest } from '../../chat/schema.js';
import { validateChatRequest } from '../../chat/validate.js';
import type { AppContext } from '../../pipeline/context.js';
import { prepare } from '../../pipeline/prepare.js';
import { run } from '../../pipeline/run.js';
import type { PipelineRequest } from '../../pipeline/types.js';
import { runEnvironment, sendResult } from '../send.js';
import { chatDoor } from './encode.js';

/**
 * POST /v1/chat/completions: OpenAI Chat Completions in, the pipeline's answer out in the same format.
 * The request model is Chat Completions' own message list, so the body is the pipeline's conversation
 * as it came, and the client's bytes may go upstream untouched.
 */
export function registerChatCompletions(app: FastifyInstance, context: AppContext): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const pipelineRequest = chatPipelineRequest(request);
    const prepared = prepare(context, pipelineRequest, request.telemetry);
    const result = await run(prepared, chatDoor, runEnvironment(context, request, reply, pipelineRequest));
    return sendResult(reply, result, chatDoor, prepared);
  };
  const options = { config: { door: 'chat' as const } };
  app.post('/v1/chat/completions', options, handler);
  app.post('/chat/completions', options, handler);
}

/** A Chat Completions body as the pipeline's request (also what the preview route reads). */
export function chatPipelineRequest(request: FastifyRequest): PipelineRequest {
  const chat: ChatRequest = validateChatRequest(request.body);
  return {
    door: 'chat',
    chat,
    raw: request.rawBody ?? undefined,
    headers: request.headers,
    options: {
      stream: chat.stream === true,
      echo: chat.echo === true,
      includeUsage: chat.stream_options?.include_usage === true,
      thinkingBudget: chat.reasoning_budget_tokens ?? undefined,
    },
  };
}
