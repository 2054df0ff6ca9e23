import type { Answer } from '../../answer/types.js';
import type { Door, Prepared } from '../../pipeline/types.js';
import { functionCallItem, messageItem, newId, outcomeOf, reasoningItem, refusalPart, requestEcho, responseObject, textPart } from './response.js';
import type { ResponsesRequest } from './schema.js';
import { ResponsesStreamEncoder } from './stream.js';

/**
 * The Responses door's wire format: the pipeline's answer as an OpenAI Response object (reasoning,
 * message and function-call output items), its stream as the Responses event sequence (stream.ts), and
 * errors in OpenAI's `{"error": {...}}` shape. An answer from an upstream that speaks Responses itself
 * is its own bytes, passed untouched (`wire`).
 */

/** The model's name as the Response reports it: the upstream's, else the request's. */
function modelOf(answerModel: string | undefined, prepared: Prepared): string {
  return answerModel || prepared.chat.model || prepared.request.chat.model || '';
}

export function encodeResponse(answer: Answer, prepared: Prepared, echo: Record<string, unknown>): string {
  const choice = answer.choices[0];
  const { status, incomplete } = outcomeOf(choice?.finishReason);
  const output: Array<Record<string, unknown>> = [];
  if (choice?.reasoning) output.push(reasoningItem(newId('rs'), choice.reasoning, 'completed'));
  const parts: Array<Record<string, unknown>> = [];
  const calls = choice?.toolCalls ?? [];
  // The continuation only (or, with echo, the prefix and the continuation): one output_text part.
  if (typeof choice?.content === 'string' && (choice.content.length > 0 || calls.length === 0)) parts.push(textPart(choice.content));
  if (typeof choice?.refusal === 'string') parts.push(refusalPart(choice.refusal));
  if (parts.length === 0 && calls.length === 0) parts.push(textPart(''));
  if (parts.length > 0) output.push(messageItem(newId('msg'), parts, status === 'incomplete' ? 'incomplete' : 'completed'));
  for (const call of calls) output.push(functionCallItem(newId('fc'), call.id, call.function.name, call.function.arguments, 'completed'));
  const identity = { id: newId('resp'), created_at: answer.created, model: modelOf(answer.model, prepared) };
  return JSON.stringify(responseObject(identity, echo, { status, output, usage: answer.usage, incomplete }));
}

/**
 * The door for one request: its Response objects report the request's own settings (instructions,
 * tools, sampling), whichever model and upstream end up answering it.
 */
export function responsesDoor(request?: ResponsesRequest): Door {
  const echo = requestEcho(request);
  return {
    id: 'responses',
    wire: 'openai-responses',
    encodeAnswer: (answer, prepared) => encodeResponse(answer, prepared, echo),
    // Where the upstream's own Responses events pass untouched, the encoder only writes an error that cuts them.
    streamEncoder: (prepared) => new ResponsesStreamEncoder(echo, modelOf(undefined, prepared), prepared.first.plan.answers?.wire === 'openai-responses'),
    errorBody: (error) => error.toJSON(),
  };
}
