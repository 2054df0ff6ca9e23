/**
 * The OpenAI schema validators (test/helpers/openai-schema.ts) are real: documented bodies pass,
 * bodies without a field the spec requires fail and name it. Examples come from the spec's own
 * `x-oaiMeta` examples (kept in the vendored file as `examples`) or OpenAI's API reference.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  OPENAI_SPEC_VERSION,
  expectInvalid,
  expectValid,
  rawSchema,
  schemaExamples,
  schemaNames,
  validateChatCompletion,
  validateChatCompletionChunk,
  validateErrorResponse,
  validateModelList,
  validateResponse,
  validateResponseStreamEvent,
  validateSchema,
} from '../helpers/openai-schema.js';

type Obj = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);
const example = (name: string): Obj => {
  const [first] = schemaExamples(name);
  expect(first, `the spec documents an example of ${name}`).toBeTypeOf('object');
  return first as Obj;
};

const DIR = new URL('../schemas/openai/', import.meta.url);

describe('vendored OpenAI spec', () => {
  const doc = JSON.parse(readFileSync(new URL(`openai-${OPENAI_SPEC_VERSION}.schemas.json`, DIR), 'utf8')) as { $defs: Record<string, unknown> };

  it('carries its provenance and licence', () => {
    const readme = readFileSync(new URL('README.md', DIR), 'utf8');
    expect(readme).toMatch(/github\.com\/openai\/openai-openapi/);
    expect(readme).toMatch(/\b[0-9a-f]{40}\b/);
    expect(readme).toContain(OPENAI_SPEC_VERSION);
    expect(existsSync(new URL('LICENSE', DIR))).toBe(true);
    expect(readFileSync(new URL('LICENSE', DIR), 'utf8')).toMatch(/MIT License[\s\S]*Copyright \(c\) OpenAI/);
  });

  it('has every schema the proxy answers with, every $ref resolves, no OpenAPI-only keywords are left', () => {
    for (const name of [
      'CreateChatCompletionResponse', 'CreateChatCompletionStreamResponse', 'ErrorResponse', 'Error', 'Response',
      'ResponseStreamEvent', 'CreateResponse', 'ListModelsResponse', 'Model', 'OutputMessage', 'OutputTextContent', 'ReasoningItem',
    ]) {
      expect(schemaNames()).toContain(name);
    }
    const text = JSON.stringify(doc);
    for (const [, name] of text.matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) expect(doc.$defs).toHaveProperty([name!]);
    expect(text).not.toMatch(/"\$ref":"#\/components/);
    expect(text).not.toMatch(/"(nullable|x-[A-Za-z-]+|\$recursiveRef|\$recursiveAnchor)":/);
  });

  it('keeps the spec\'s strictness: extra fields are allowed where the spec allows them', () => {
    expect(rawSchema('CreateChatCompletionResponse').additionalProperties).toBeUndefined();
    expect(rawSchema('ChatCompletionResponseMessage').additionalProperties).toBeUndefined();
  });
});

describe('chat completions', () => {
  // https://platform.openai.com/docs/api-reference/chat/object
  const completion = {
    id: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
    object: 'chat.completion',
    created: 1741570283,
    model: 'gpt-4o-2024-08-06',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The image shows a wooden boardwalk.', refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: {
      prompt_tokens: 1117,
      completion_tokens: 46,
      total_tokens: 1163,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: 'default',
    system_fingerprint: 'fp_fc9f1d7035',
  };

  it('a complete chat completion passes, and so does the spec\'s own example', () => {
    expect(validateChatCompletion(completion)).toEqual({ valid: true, errors: [] });
    expectValid('chatCompletion', example('CreateChatCompletionResponse'));
  });

  it('fields the spec does not list are allowed (reasoning_content, llama.cpp timings)', () => {
    const body = clone(completion) as Obj & { choices: Obj[] };
    (body.choices[0]!.message as Obj).reasoning_content = 'thinking...';
    body.timings = { prompt_n: 10, predicted_n: 5, predicted_per_second: 42.1 };
    expectValid('chatCompletion', body);
  });

  it('without choices[0].message.refusal it fails, naming it', () => {
    const body = clone(completion);
    delete (body.choices[0]!.message as Partial<typeof body.choices[0]['message']>).refusal;
    const result = validateChatCompletion(body);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual(["/choices/0/message: must have required property 'refusal'"]);
  });

  it('without choices[0].logprobs it fails, naming it', () => {
    const body = clone(completion);
    delete (body.choices[0] as Partial<typeof body.choices[0]>).logprobs;
    expect(validateChatCompletion(body).errors).toEqual(["/choices/0: must have required property 'logprobs'"]);
  });

  it('content null is fine (tool calls), a tool call needs id, type and function', () => {
    const body = clone(completion) as Obj & { choices: Obj[] };
    body.choices[0]!.message = {
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [{ id: 'call_abc123', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    };
    body.choices[0]!.finish_reason = 'tool_calls';
    expectValid('chatCompletion', body);
    ((body.choices[0]!.message as Obj).tool_calls as Obj[])[0] = { type: 'function', function: { name: 'get_weather', arguments: '{}' } };
    expect(validateChatCompletion(body).errors).toContain("/choices/0/message/tool_calls/0: must have required property 'id'");
  });

  it('wrong types and values are named', () => {
    const body = clone(completion) as Obj & { choices: Obj[] };
    body.object = 'chat.completion.chunk';
    body.choices[0]!.finish_reason = 'eos';
    body.created = '1741570283';
    const errors = validateChatCompletion(body).errors;
    expect(errors).toContain('/object: must be one of ["chat.completion"]');
    expect(errors).toContain('/choices/0/finish_reason: must be one of ["stop","length","tool_calls","content_filter","function_call"]');
    expect(errors).toContain('/created: must be integer');
  });

  it('usage needs prompt, completion and total tokens', () => {
    const body = clone(completion) as Obj;
    body.usage = { prompt_tokens: 1, completion_tokens: 2 };
    expect(validateChatCompletion(body).errors).toEqual(["/usage: must have required property 'total_tokens'"]);
  });
});

describe('chat completion chunks', () => {
  // https://platform.openai.com/docs/api-reference/chat-streaming/streaming
  const chunk = {
    id: 'chatcmpl-123',
    object: 'chat.completion.chunk',
    created: 1694268190,
    model: 'gpt-4o-mini',
    system_fingerprint: 'fp_44709d6fcb',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
  };

  it('a stream chunk passes; logprobs may be left out of a chunk', () => {
    expect(validateChatCompletionChunk(chunk)).toEqual({ valid: true, errors: [] });
    const noLogprobs = clone(chunk);
    delete (noLogprobs.choices[0] as Partial<typeof noLogprobs.choices[0]>).logprobs;
    expectValid('chatCompletionChunk', noLogprobs);
    expectValid('chatCompletionChunk', { ...chunk, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] });
  });

  it('a usage-only final chunk passes', () => {
    expectValid('chatCompletionChunk', {
      id: 'chatcmpl-123',
      object: 'chat.completion.chunk',
      created: 1694268190,
      model: 'gpt-4o-mini',
      system_fingerprint: 'fp_44709d6fcb',
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
    });
  });

  it('usage: null and extra delta fields (reasoning_content) pass', () => {
    const body = clone(chunk) as Obj & { choices: Obj[] };
    body.usage = null;
    (body.choices[0]!.delta as Obj).reasoning_content = 'hmm';
    expectValid('chatCompletionChunk', body);
  });

  it('a chunk without finish_reason, or with a tool call delta without index, fails', () => {
    const body = clone(chunk);
    delete (body.choices[0] as Partial<typeof body.choices[0]>).finish_reason;
    expect(validateChatCompletionChunk(body).errors).toEqual(["/choices/0: must have required property 'finish_reason'"]);
    const toolDelta = { ...chunk, choices: [{ index: 0, delta: { tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }, finish_reason: null }] };
    expect(validateChatCompletionChunk(toolDelta).errors).toEqual(["/choices/0/delta/tool_calls/0: must have required property 'index'"]);
  });
});

describe('error responses', () => {
  it('{"error":{"message","type","param","code"}} passes', () => {
    // https://platform.openai.com/docs/guides/error-codes
    const body = { error: { message: 'Incorrect API key provided: sk-abc.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } };
    expect(validateErrorResponse(body)).toEqual({ valid: true, errors: [] });
    expectValid('errorResponse', { error: { message: 'Bad request', type: 'invalid_request_error', param: 'messages', code: null } });
  });

  it('param and code are required (nullable), code is a string', () => {
    expect(validateErrorResponse({ error: { message: 'x', type: 'server_error' } }).errors).toEqual([
      "/error: must have required property 'param'",
      "/error: must have required property 'code'",
    ]);
    expect(validateErrorResponse({ error: { message: 'x', type: 'invalid_request_error', param: null, code: 400 } }).errors).toEqual([
      '/error/code: must be string | null',
    ]);
    expect(validateErrorResponse({ message: 'x' }).errors).toEqual(["(root): must have required property 'error'"]);
  });
});

describe('models', () => {
  it('the model list passes; a model without owned_by fails', () => {
    // https://platform.openai.com/docs/api-reference/models/list
    const list = {
      object: 'list',
      data: [
        { id: 'model-id-0', object: 'model', created: 1686935002, owned_by: 'organization-owner' },
        { id: 'model-id-1', object: 'model', created: 1686935002, owned_by: 'organization-owner' },
        example('Model'),
      ],
    };
    expect(validateModelList(list)).toEqual({ valid: true, errors: [] });
    expect(validateModelList({ object: 'list', data: [{ id: 'm', object: 'model', created: 1 }] }).errors).toEqual([
      "/data/0: must have required property 'owned_by'",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Responses API

/**
 * OpenAI's documented Response examples disagree with its own schema in a few places; these are the
 * minimal corrections, each one a field the schema requires or does not allow as null.
 */
function fixResponse(r: Obj): Obj {
  const out = clone(r);
  if (out.user === null) delete out.user; // `user` is `type: string` (deprecated), not nullable
  if (out.usage === null) delete out.usage; // `usage` is optional but not nullable
  out.parallel_tool_calls ??= true; // required
  const usage = out.usage as Obj | undefined;
  if (usage) usage.input_tokens_details ??= { cached_tokens: 0, cache_write_tokens: 0 }; // required
  const details = out.incomplete_details as Obj | null;
  if (details && details.reason === 'max_tokens') details.reason = 'max_output_tokens'; // enum
  for (const item of (out.output as Obj[]) ?? []) fixOutputItem(item);
  return out;
}

function fixOutputItem(item: Obj): void {
  if (item.type !== 'message') return;
  item.status ??= 'completed'; // required on output messages
  for (const part of (item.content as Obj[]) ?? []) if (part.type === 'output_text') part.logprobs ??= []; // required
}

function fixEvent(name: string, e: Obj): Obj {
  const out = clone(e);
  out.sequence_number ??= 1; // required on every event
  // the response.queued example's response is a stub (ISO dates, no required field but id/status)
  if (name === 'ResponseQueuedEvent') out.response = { ...minimalResponse, status: 'queued', output: [] };
  if (isObj(out.response)) out.response = fixResponse(out.response);
  if (isObj(out.item)) fixOutputItem(out.item);
  if (isObj(out.part) && out.part.type === 'output_text') out.part.logprobs ??= [];
  if (name === 'ResponseTextDeltaEvent' || name === 'ResponseTextDoneEvent') out.logprobs ??= [];
  return out;
}
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A complete Response as the spec requires it (fields beyond the spec's `required` omitted). */
const minimalResponse = {
  id: 'resp_123',
  object: 'response',
  created_at: 1741476777,
  status: 'completed',
  error: null,
  incomplete_details: null,
  instructions: null,
  model: 'gpt-4o-2024-08-06',
  output: [
    {
      type: 'message',
      id: 'msg_123',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
    },
  ],
  parallel_tool_calls: true,
  tool_choice: 'auto',
  tools: [],
  temperature: 1,
  top_p: 1,
  metadata: {},
};

describe('Responses API: the response object', () => {
  it('the spec\'s example (corrected) and a minimal complete response pass', () => {
    expect(validateResponse(fixResponse(example('Response')))).toEqual({ valid: true, errors: [] });
    expectValid('response', minimalResponse);
  });

  it('the spec\'s own example fails exactly where it contradicts the schema', () => {
    expect(validateResponse(example('Response')).errors).toEqual([
      '/user: must be string',
      "/output/0/content/0: must have required property 'logprobs'",
    ]);
  });

  it('a reasoning item, a function call, usage and incomplete details pass', () => {
    expectValid('response', {
      ...minimalResponse,
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [
        { type: 'reasoning', id: 'rs_123', summary: [{ type: 'summary_text', text: 'Thinking about it.' }], content: [{ type: 'reasoning_text', text: 'Let me think.' }] },
        { type: 'function_call', id: 'fc_123', call_id: 'call_123', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
        ...minimalResponse.output,
      ],
      usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 },
    });
  });

  it('broken responses fail, each naming the field', () => {
    const missing = clone(minimalResponse) as Partial<typeof minimalResponse>;
    delete missing.output;
    delete missing.tool_choice;
    expect(validateResponse(missing).errors).toEqual([
      "(root): must have required property 'output'",
      "(root): must have required property 'tool_choice'",
    ]);
    const noAnnotations = clone(minimalResponse);
    delete (noAnnotations.output[0]!.content[0] as Partial<(typeof noAnnotations.output)[0]['content'][0]>).annotations;
    expect(validateResponse(noAnnotations).errors).toEqual(["/output/0/content/0: must have required property 'annotations'"]);
    expect(validateResponse({ ...minimalResponse, output: [{ type: 'reasoning', id: 'rs_1' }] }).errors).toEqual([
      "/output/0: must have required property 'summary'",
    ]);
    expect(validateResponse({ ...minimalResponse, output: [{ type: 'thinking', id: 'x' }] }).errors).toEqual([
      expect.stringMatching(/^\/output\/0\/type: "thinking" is none of \["message",.*"reasoning"/),
    ]);
    expect(validateResponse({ ...minimalResponse, status: 'done', error: { message: 'x' } }).errors).toEqual([
      '/status: must be one of ["completed","failed","in_progress","cancelled","queued","incomplete"]',
      "/error: must have required property 'code'",
    ]);
  });
});

describe('Responses API: stream events', () => {
  /** The events a text (and reasoning) answer streams, with the spec's example of each. */
  const EVENTS: Record<string, string> = {
    ResponseCreatedEvent: 'response.created',
    ResponseInProgressEvent: 'response.in_progress',
    ResponseQueuedEvent: 'response.queued',
    ResponseOutputItemAddedEvent: 'response.output_item.added',
    ResponseContentPartAddedEvent: 'response.content_part.added',
    ResponseTextDeltaEvent: 'response.output_text.delta',
    ResponseTextDoneEvent: 'response.output_text.done',
    ResponseRefusalDeltaEvent: 'response.refusal.delta',
    ResponseRefusalDoneEvent: 'response.refusal.done',
    ResponseContentPartDoneEvent: 'response.content_part.done',
    ResponseOutputItemDoneEvent: 'response.output_item.done',
    ResponseFunctionCallArgumentsDoneEvent: 'response.function_call_arguments.done',
    ResponseReasoningSummaryPartAddedEvent: 'response.reasoning_summary_part.added',
    ResponseReasoningSummaryPartDoneEvent: 'response.reasoning_summary_part.done',
    ResponseReasoningSummaryTextDeltaEvent: 'response.reasoning_summary_text.delta',
    ResponseReasoningSummaryTextDoneEvent: 'response.reasoning_summary_text.done',
    ResponseReasoningTextDeltaEvent: 'response.reasoning_text.delta',
    ResponseReasoningTextDoneEvent: 'response.reasoning_text.done',
    ResponseCompletedEvent: 'response.completed',
    ResponseFailedEvent: 'response.failed',
    ResponseIncompleteEvent: 'response.incomplete',
    ResponseErrorEvent: 'error',
  };

  /** Where OpenAI's examples contradict the schema (so our encoders must not copy them blindly). */
  const KNOWN_EXAMPLE_ERRORS: Record<string, string[]> = {
    ResponseCreatedEvent: ['/response/user: must be string', '/response/usage: must be object'],
    ResponseInProgressEvent: ['/response/user: must be string', '/response/usage: must be object'],
    ResponseQueuedEvent: expect.arrayContaining(["/response: must have required property 'object'", '/response/created_at: must be number']) as unknown as string[],
    ResponseContentPartAddedEvent: ["/part: must have required property 'logprobs'"],
    ResponseContentPartDoneEvent: ["/part: must have required property 'logprobs'"],
    ResponseTextDeltaEvent: ["(root): must have required property 'logprobs'"],
    ResponseTextDoneEvent: ["(root): must have required property 'logprobs'"],
    ResponseOutputItemDoneEvent: ["/item/content/0: must have required property 'logprobs'"],
    ResponseCompletedEvent: [
      '/response/user: must be string',
      "/response: must have required property 'parallel_tool_calls'",
      "/response/output/0: must have required property 'status'",
      "/response/output/0/content/0: must have required property 'logprobs'",
      "/response/usage: must have required property 'input_tokens_details'",
    ],
    ResponseFailedEvent: [
      "(root): must have required property 'sequence_number'",
      '/response/user: must be string',
      "/response: must have required property 'parallel_tool_calls'",
      '/response/usage: must be object',
    ],
    ResponseIncompleteEvent: [
      '/response/user: must be string',
      "/response: must have required property 'parallel_tool_calls'",
      '/response/incomplete_details/reason: must be one of ["max_output_tokens","content_filter"]',
      '/response/usage: must be object',
    ],
  };

  it('ResponseStreamEvent is the union of the events, each tagged by its type', () => {
    const union = rawSchema('ResponseStreamEvent').anyOf as { $ref: string }[];
    const members = union.map((r) => r.$ref.replace('#/$defs/', ''));
    for (const [name, type] of Object.entries(EVENTS)) {
      expect(members).toContain(name);
      expect((rawSchema(name).properties as Obj).type).toMatchObject({ enum: [type] });
    }
  });

  for (const [name, type] of Object.entries(EVENTS)) {
    it(`${type}: the spec's example passes (corrected where it contradicts the schema)`, () => {
      const raw = example(name);
      expect(raw.type).toBe(type);
      const event = fixEvent(name, raw);
      expect(validateSchema(name, event)).toEqual({ valid: true, errors: [] });
      expect(validateResponseStreamEvent(event)).toEqual({ valid: true, errors: [] });
      expect(validateSchema(name, raw).errors).toEqual(KNOWN_EXAMPLE_ERRORS[name] ?? []);
    });
  }

  it('the events of a streamed text answer, written to the spec, pass in order', () => {
    const inProgress = { ...minimalResponse, status: 'in_progress', output: [] };
    const item = { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] };
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    const done = { ...part, text: 'Hi' };
    const events = [
      { type: 'response.created', response: inProgress },
      { type: 'response.in_progress', response: inProgress },
      { type: 'response.output_item.added', output_index: 0, item },
      { type: 'response.content_part.added', item_id: 'msg_1', output_index: 0, content_index: 0, part },
      { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [] },
      { type: 'response.output_text.done', item_id: 'msg_1', output_index: 0, content_index: 0, text: 'Hi', logprobs: [] },
      { type: 'response.content_part.done', item_id: 'msg_1', output_index: 0, content_index: 0, part: done },
      { type: 'response.output_item.done', output_index: 0, item: { ...item, status: 'completed', content: [done] } },
      { type: 'response.completed', response: { ...minimalResponse, output: [{ ...item, status: 'completed', content: [done] }] } },
    ];
    events.forEach((e, i) => expectValid('responseStreamEvent', { ...e, sequence_number: i }));
  });

  it('reasoning and function-call events written to the spec pass', () => {
    const base = { item_id: 'rs_1', output_index: 0, sequence_number: 3 };
    for (const e of [
      { ...base, type: 'response.reasoning_summary_part.added', summary_index: 0, part: { type: 'summary_text', text: '' } },
      { ...base, type: 'response.reasoning_summary_text.delta', summary_index: 0, delta: 'Thinking' },
      { ...base, type: 'response.reasoning_summary_text.done', summary_index: 0, text: 'Thinking' },
      { ...base, type: 'response.reasoning_summary_part.done', summary_index: 0, part: { type: 'summary_text', text: 'Thinking' } },
      { ...base, type: 'response.reasoning_text.delta', content_index: 0, delta: 'Hmm' },
      { ...base, type: 'response.reasoning_text.done', content_index: 0, text: 'Hmm' },
      { ...base, type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '{"ci' },
      { ...base, type: 'response.function_call_arguments.done', item_id: 'fc_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'error', code: null, message: 'upstream failed', param: null, sequence_number: 9 },
    ]) {
      expectValid('responseStreamEvent', e);
    }
  });

  it('broken events fail, naming what is wrong', () => {
    const delta = { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Hi', logprobs: [], sequence_number: 1 };
    expectValid('responseStreamEvent', delta);
    const noSeq: Partial<typeof delta> = { ...delta };
    delete noSeq.sequence_number;
    expect(validateResponseStreamEvent(noSeq).errors).toEqual(["(root): must have required property 'sequence_number'"]);
    expect(validateResponseStreamEvent({ ...delta, delta: 42 }).errors).toEqual(['/delta: must be string']);
    expect(validateResponseStreamEvent({ ...delta, type: 'response.output_text.deltas' }).errors).toEqual([
      '/type: "response.output_text.deltas" is not a value this union allows',
    ]);
    expect(validateResponseStreamEvent({ delta: 'Hi' }).errors).toEqual(["(root): must have a string property 'type'"]);
    expect(expectInvalid('responseStreamEvent', { type: 'response.completed', response: { id: 'resp_1' }, sequence_number: 2 })).toContain(
      "/response: must have required property 'output'",
    );
    expect(validateResponseStreamEvent({ type: 'response.content_part.added', item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' }, sequence_number: 1 }).errors).toEqual([
      "/part: must have required property 'annotations'",
      "/part: must have required property 'logprobs'",
    ]);
  });
});

describe('Responses API: the request', () => {
  const request = {
    model: 'gpt-4o',
    instructions: 'Be brief.',
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Hi' }] }, { role: 'assistant', content: 'Hello' }],
    max_output_tokens: 100,
  };

  it('a CreateResponse body passes; a wrongly typed one fails', () => {
    expect(validateSchema('CreateResponse', { model: 'gpt-4o', input: 'Tell me a story', stream: true, reasoning: { effort: 'low' } })).toEqual({ valid: true, errors: [] });
    expect(validateSchema('CreateResponse', { model: 'gpt-4o', stream: 'yes' }).errors).toEqual(['/stream: must be boolean | null']);
  });

  it('a message with content parts matches two overlapping branches of the spec\'s InputItem oneOf: rejected as JSON Schema reads it, accepted as a union', () => {
    // input/1 (string content) is only an EasyInputMessage; input/0 is also an InputMessage
    expect(validateSchema('CreateResponse', request).errors).toEqual([
      "/input/0: matches EasyInputMessage and Item of a oneOf that allows exactly one (the spec's branches overlap; see OneOfMode)",
    ]);
    expectValid('createResponse', request, { oneOf: 'union' });
    expect(validateSchema('CreateResponse', { ...request, input: [{ role: 'user' }] }, { oneOf: 'union' }).valid).toBe(false);
  });
});
