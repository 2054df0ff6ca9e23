import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import type { Answer, AnswerEvent } from '../../../src/answer/types.js';
import { responsesDoor } from '../../../src/doors/responses/encode.js';
import { ResponsesStreamEncoder } from '../../../src/doors/responses/stream.js';
import { requestEcho } from '../../../src/doors/responses/response.js';
import { ProxyError } from '../../../src/errors.js';
import type { Prepared } from '../../../src/pipeline/types.js';
import { SseParser } from '../../../src/sse/parser.js';
import { validateResponse, validateResponseStreamEvent } from '../../helpers/openai-schema.js';

/** Just what the encoders read of a prepared request. */
const prepared = (answers?: { wire: string }) => ({ chat: { model: 'm', messages: [] }, request: { chat: { model: 'm', messages: [] } }, first: { plan: { answers } } }) as unknown as Prepared;

type Event = Record<string, unknown> & { type: string; sequence_number: number };

/** The encoder's bytes as events, each checked against OpenAI's schema, its SSE name and its sequence. */
function parse(text: string): Event[] {
  const events: Event[] = [];
  new SseParser((event) => {
    const data = JSON.parse(event.data) as Event;
    expect(event.event).toBe(data.type);
    expect(validateResponseStreamEvent(data).errors, event.data).toEqual([]);
    events.push(data);
  }).push(text);
  events.forEach((event, index) => expect(event.sequence_number).toBe(index));
  return events;
}

function encode(events: AnswerEvent[], request: Record<string, unknown> = {}): { text: string; events: Event[] } {
  const encoder = new ResponsesStreamEncoder(requestEcho(request), 'm', false);
  let text = '';
  for (const event of events) text += encoder.event(event);
  text += encoder.end();
  return { text, events: parse(text) };
}

/** What the official SDK's `responses.stream` makes of a stream: its final Response, built from the events alone. */
async function sdkFinal(text: string) {
  const client = new OpenAI({ apiKey: 'unused', maxRetries: 0, fetch: async () => new Response(text, { headers: { 'content-type': 'text/event-stream' } }) });
  return client.responses.stream({ model: 'm', input: 'Hi' }).finalResponse();
}

const start: AnswerEvent = { type: 'start', identity: { id: 'chatcmpl-1', model: 'upstream-model', created: 1_700_000_000 } };
const usage: AnswerEvent = { type: 'usage', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 } } };

describe('the Responses stream encoder', () => {
  it('writes the event sequence of a text answer, with sequence numbers and indices', async () => {
    const { text, events } = encode([start, { type: 'delta', index: 0, role: true, content: '' }, { type: 'delta', index: 0, content: ' there' }, { type: 'delta', index: 0, content: ' was' }, { type: 'finish', index: 0, reason: 'stop' }, usage]);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const item = (events[2]!.item as { id: string }).id;
    for (const event of events.slice(3, 9)) expect(event).toMatchObject({ output_index: 0 });
    for (const event of events.slice(3, 8)) expect(event).toMatchObject({ item_id: item, content_index: 0 });
    expect(events[6]).toMatchObject({ text: ' there was', logprobs: [] });
    const completed = events.at(-1)!.response as Record<string, unknown>;
    expect(completed).toMatchObject({
      status: 'completed',
      model: 'upstream-model',
      created_at: 1_700_000_000,
      usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 },
    });
    expect((events[0]!.response as { id: string }).id).toBe(completed.id);
    expect((events[0]!.response as Record<string, unknown>).usage).toBeUndefined();
    const final = await sdkFinal(text);
    expect(final.output_text).toBe(' there was');
    expect(final.status).toBe('completed');
  });

  it('puts reasoning first in its own item, then the message, then function calls, each at its output_index', async () => {
    const { text, events } = encode([
      start,
      { type: 'delta', index: 0, role: true, reasoning: 'Think' },
      { type: 'delta', index: 0, reasoning: 'ing.', content: 'Answer' },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a"' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, function: { arguments: ':1}' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'g', arguments: '{}' } }] },
      { type: 'finish', index: 0, reason: 'tool_calls' },
    ]);
    const added = events.filter((event) => event.type === 'response.output_item.added');
    expect(added.map((event) => [event.output_index, (event.item as { type: string }).type])).toEqual([
      [0, 'reasoning'],
      [1, 'message'],
      [2, 'function_call'],
      [3, 'function_call'],
    ]);
    expect(events.filter((event) => event.type === 'response.reasoning_text.delta').map((event) => event.delta)).toEqual(['Think', 'ing.']);
    expect(events.find((event) => event.type === 'response.function_call_arguments.done' && event.output_index === 2)).toMatchObject({ name: 'f', arguments: '{"a":1}' });
    const final = await sdkFinal(text);
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
    expect(final.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: 'Thinking.' }] });
    expect(final.output[2]).toMatchObject({ call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' });
    expect(final.output_text).toBe('Answer');
  });

  it('ends an answer cut at the output limit with response.incomplete and its reason', () => {
    const { events } = encode([start, { type: 'delta', index: 0, content: 'Once' }, { type: 'finish', index: 0, reason: 'length' }]);
    const last = events.at(-1)!;
    expect(last.type).toBe('response.incomplete');
    expect(last.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ type: 'message', status: 'incomplete' }] });
  });

  it('gives an answer with no text one empty message, and reports the request settings', () => {
    const request = { instructions: 'Be brief.', temperature: 0.2, tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: 'required', metadata: { k: 'v' }, user: 'u1', max_output_tokens: 50 };
    const { events } = encode([start, { type: 'finish', index: 0, reason: 'stop' }], request);
    expect(events.at(-1)!.response).toMatchObject({
      output: [{ type: 'message', content: [{ type: 'output_text', text: '' }] }],
      instructions: 'Be brief.',
      temperature: 0.2,
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' }, strict: null, description: null }],
      tool_choice: 'required',
      metadata: { k: 'v' },
      user: 'u1',
      max_output_tokens: 50,
      store: false,
    });
  });

  it('a failure mid-way: the error event, then response.failed with what was produced, and nothing after', async () => {
    const encoder = new ResponsesStreamEncoder(requestEcho({}), 'm', false);
    let text = encoder.event(start) + encoder.event({ type: 'delta', index: 0, content: 'Half' });
    text += encoder.error(new ProxyError(502, 'The upstream closed the connection unexpectedly.', { code: 'upstream_connection_lost' }));
    const events = parse(text);
    expect(events.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
    expect(events.at(-2)).toMatchObject({ code: 'upstream_connection_lost', message: expect.stringContaining('closed'), param: null });
    expect(events.at(-1)!.response).toMatchObject({ status: 'failed', error: { code: 'server_error' }, output: [{ type: 'message', status: 'incomplete', content: [{ text: 'Half' }] }] });
    await expect(sdkFinal(text)).rejects.toMatchObject({ type: 'error', code: 'upstream_connection_lost' });
  });

  it('a failure before anything was written still opens the response, so clients can read it', () => {
    const encoder = new ResponsesStreamEncoder(requestEcho({}), 'm', false);
    const events = parse(encoder.error(new ProxyError(429, 'Slow down.', { code: 'rate_limited' })));
    expect(events.map((event) => event.type)).toEqual(['response.created', 'response.in_progress', 'error', 'response.failed']);
    expect(events.at(-1)!.response).toMatchObject({ error: { code: 'rate_limit_exceeded', message: 'Slow down.' } });
  });

  it('behind the upstream\'s own Responses events, it only writes the error', () => {
    const encoder = responsesDoor().streamEncoder(prepared({ wire: 'openai-responses' }));
    const events = parse(encoder.error(new ProxyError(502, 'cut', { code: 'upstream_stream_truncated' })));
    expect(events).toEqual([{ type: 'error', sequence_number: 0, code: 'upstream_stream_truncated', message: 'cut', param: null }]);
  });
});

describe('a whole answer as a Response', () => {
  const answer = (choice: Partial<Answer['choices'][number]>): Answer => ({
    id: 'chatcmpl-1',
    model: 'upstream-model',
    created: 1_700_000_000,
    choices: [{ index: 0, content: ' there was', finishReason: 'stop', ...choice }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
  });
  const encodeWhole = (value: Answer, request: Record<string, unknown> = {}) => {
    const body = JSON.parse(responsesDoor(request).encodeAnswer(value, prepared())) as Record<string, unknown>;
    expect(validateResponse(body).errors, JSON.stringify(body)).toEqual([]);
    return body;
  };

  it('has the continuation in one output_text part, the usage in the Responses API\'s terms', () => {
    expect(encodeWhole(answer({}))).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'upstream-model',
      incomplete_details: null,
      error: null,
      output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: ' there was', annotations: [], logprobs: [] }] }],
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    });
  });

  it('has reasoning, tool calls, and incomplete_details at the output limit', () => {
    const body = encodeWhole(answer({ reasoning: 'Hmm.', content: null, finishReason: 'tool_calls', toolCalls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }));
    expect(body.output).toMatchObject([
      { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Hmm.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}', status: 'completed' },
    ]);
    expect(encodeWhole(answer({ finishReason: 'length' }))).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [{ status: 'incomplete' }] });
    expect(encodeWhole({ ...answer({}), usage: undefined }).usage).toBeUndefined();
  });
});
