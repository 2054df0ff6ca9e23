import { describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../../src/answer/types.js';
import { decodeWholeResponse, endsWithTerminalEvent, openAIResponsesAnswers } from '../../../src/providers/openai-responses/answers.js';
import { responsesNativeCall } from '../../../src/providers/openai-responses/request.js';
import { openai, openaiCompatible } from '../../../src/providers/openai.js';

/** The Responses wire, as OpenAI's own upstream answers and the proxy's native path to it read it. */

const sse = (type: string, fields: Record<string, unknown>, sequence: number) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence, ...fields })}\n\n`;
const response = (fields: Record<string, unknown> = {}) => ({ id: 'resp_1', object: 'response', created_at: 1_700_000_000, model: 'gpt-x', status: 'completed', output: [], ...fields });

describe('the native call to an upstream that speaks Responses', () => {
  it('sends a request that is not a prefill as it came, without the proxy\'s own fields', () => {
    const body = { model: 'gpt-x', input: 'Hi', store: true, previous_response_id: 'resp_0', echo: true, reasoning_budget_tokens: 5 };
    const call = responsesNativeCall('openai-responses', body, undefined)!;
    expect(call.path).toBe('/v1/responses');
    expect(call.body).toEqual({ model: 'gpt-x', input: 'Hi', store: true, previous_response_id: 'resp_0' });
    expect(call.answer).toMatchObject({ kind: 'none', echo: false });
    expect(call.answers?.wire).toBe('openai-responses');
    const plain = { model: 'gpt-x', input: 'Hi' };
    expect(responsesNativeCall('openai-responses', plain, undefined)!.body).toBe(plain);
  });

  it('does not take a prefill (OpenAI cannot continue one) nor another door\'s format; only OpenAI has it', () => {
    const prefill = { prefix: 'Once', reasoning: undefined, continues: 'content' as const, index: 1, trigger: 'trailing_assistant' as const };
    expect(responsesNativeCall('openai-responses', { input: 'x' }, prefill)).toBeUndefined();
    expect(responsesNativeCall('anthropic-messages', { messages: [] }, undefined)).toBeUndefined();
    expect(openai.nativeCall).toBeDefined();
    expect(openaiCompatible.nativeCall).toBeUndefined();
  });
});

describe('Responses answers read as the pipeline\'s', () => {
  it('a whole Response: text, reasoning, refusal, function calls, usage, finish', () => {
    const answer = decodeWholeResponse(
      response({
        output: [
          { type: 'reasoning', id: 'rs', summary: [{ type: 'summary_text', text: 'Sum.' }] },
          { type: 'message', id: 'm', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi', annotations: [] }, { type: 'refusal', refusal: 'No.' }] },
          { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
        ],
        usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7, input_tokens_details: { cached_tokens: 1 }, output_tokens_details: { reasoning_tokens: 2 } },
      }),
    );
    expect(answer).toEqual({
      id: 'resp_1',
      model: 'gpt-x',
      created: 1_700_000_000,
      choices: [{ index: 0, content: 'Hi', reasoning: 'Sum.', refusal: 'No.', finishReason: 'tool_calls', toolCalls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 1 }, completion_tokens_details: { reasoning_tokens: 2 } },
    });
    expect(decodeWholeResponse(response({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } })).choices[0]!.finishReason).toBe('length');
    expect(() => decodeWholeResponse({ choices: [] })).toThrow();
  });

  it('a stream: deltas, function-call arguments, the end with usage; a failure is an error event', () => {
    const events: AnswerEvent[] = [];
    const decoder = openAIResponsesAnswers.stream({ messages: [] }, (event) => events.push(event), { maxEventBytes: 1 << 20 });
    const text =
      sse('response.created', { response: response({ status: 'in_progress' }) }, 0) +
      sse('response.output_text.delta', { item_id: 'm', output_index: 0, content_index: 0, delta: 'He', logprobs: [] }, 1) +
      sse('response.output_text.delta', { item_id: 'm', output_index: 0, content_index: 0, delta: 'llo', logprobs: [] }, 2) +
      sse('response.output_item.added', { output_index: 1, item: { type: 'function_call', call_id: 'c1', name: 'f', arguments: '' } }, 3) +
      sse('response.function_call_arguments.delta', { item_id: 'fc', output_index: 1, delta: '{}' }, 4) +
      sse('response.completed', { response: response({ usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } }) }, 5);
    for (const piece of text.match(/[\s\S]{1,7}/g)!) decoder.write(Buffer.from(piece));
    decoder.end();
    expect(events).toEqual([
      { type: 'start', identity: { id: 'resp_1', model: 'gpt-x', created: 1_700_000_000 } },
      { type: 'delta', index: 0, role: true, content: 'He' },
      { type: 'delta', index: 0, content: 'llo' },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, function: { arguments: '{}' } }] },
      { type: 'finish', index: 0, reason: 'tool_calls' },
      { type: 'usage', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      { type: 'done' },
    ]);
    const failed: AnswerEvent[] = [];
    const broken = openAIResponsesAnswers.stream({ messages: [] }, (event) => failed.push(event), { maxEventBytes: 1 << 20 });
    broken.write(Buffer.from(sse('response.failed', { response: response({ status: 'failed', error: { code: 'server_error', message: 'Model overloaded.' } }) }, 0)));
    expect(failed).toEqual([{ type: 'error', error: expect.objectContaining({ message: 'Model overloaded.', code: 'server_error' }) }]);
  });

  it('tells a finished stream from a cut one: the Responses API has no [DONE], its last event is terminal', () => {
    const completed = sse('response.output_text.delta', { delta: 'x' }, 3) + sse('response.completed', { response: response() }, 4);
    expect(endsWithTerminalEvent(Buffer.from(completed))).toBe(true);
    expect(endsWithTerminalEvent(Buffer.from(completed.replaceAll('\n', '\r\n')))).toBe(true);
    expect(endsWithTerminalEvent(Buffer.from(sse('response.incomplete', { response: response() }, 1)))).toBe(true);
    expect(endsWithTerminalEvent(Buffer.from(sse('error', { code: null, message: 'x', param: null }, 1)))).toBe(true);
    // Without event lines, the data's type says it.
    expect(endsWithTerminalEvent(Buffer.from(`data: ${JSON.stringify({ type: 'response.failed', response: response() })}\n\n`))).toBe(true);
    expect(endsWithTerminalEvent(Buffer.from(sse('response.output_text.delta', { delta: 'response.completed' }, 3)))).toBe(false);
    expect(endsWithTerminalEvent(Buffer.from(sse('response.completed', { response: response() }, 4) + sse('response.output_text.delta', { delta: 'x' }, 5)))).toBe(false);
    expect(endsWithTerminalEvent(Buffer.alloc(0))).toBe(false);
  });
});
