import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../../src/errors.js';
import { detectPrefill } from '../../../src/prefill/detect.js';
import { toResponsesPipelineRequest } from '../../../src/doors/responses/request.js';
import { validate } from '../../helpers/openai-schema.js';

const convert = (body: Record<string, unknown>) => toResponsesPipelineRequest(body, {});
const chatOf = (body: Record<string, unknown>) => convert(body).request.chat;

function refusal(body: Record<string, unknown>): ProxyError {
  try {
    convert(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyError);
    return err as ProxyError;
  }
  throw new Error('expected a 400');
}

describe('a Responses request as the request model', () => {
  it('takes input as a string, instructions as a system message, and the sampling fields by their chat names', () => {
    const body = { model: 'm', instructions: 'Be brief.', input: 'Hi', max_output_tokens: 20, temperature: 0.5, top_p: 0.9, stream: true, parallel_tool_calls: false };
    expect(validate('createResponse', body).errors).toEqual([]);
    const converted = convert(body);
    expect(converted.request.chat).toEqual({
      model: 'm',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 20,
      temperature: 0.5,
      top_p: 0.9,
      parallel_tool_calls: false,
    });
    expect(converted.request.options).toEqual({ stream: true, echo: false, includeUsage: true, thinkingBudget: undefined });
    expect(converted.request.raw).toBeUndefined();
    expect(converted.request.native).toEqual({ wire: 'openai-responses', body });
    expect(converted.params).toEqual(['instructions', 'input']);
    expect(converted.nativeOnly).toEqual([]);
  });

  it('translates message items with their parts, function calls, their outputs and reasoning', () => {
    const input = [
      { role: 'developer', content: 'You call tools.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather?' }, { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' }] },
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Need the tool.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'call_2', name: 'time', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'Sunny' },
      { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'Noon' }] },
      { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Sunny at noon.', annotations: [], logprobs: [] }] },
      { role: 'user', content: 'Thanks' },
    ];
    expect(validate('createResponse', { model: 'm', input }, { oneOf: 'union' }).errors).toEqual([]);
    const converted = convert({ model: 'm', input });
    expect(converted.request.chat.messages).toEqual([
      { role: 'developer', content: 'You call tools.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }] },
      {
        role: 'assistant',
        content: null,
        reasoning_content: 'Need the tool.',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'time', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'Noon' },
      { role: 'assistant', content: 'Sunny at noon.' },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(converted.params).toEqual(['input[0]', 'input[1]', 'input[3]', 'input[5]', 'input[6]', 'input[7]', 'input[8]']);
  });

  it('joins function calls to the assistant message before them (one turn)', () => {
    const chat = chatOf({
      input: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Let me look.' },
        { type: 'function_call', call_id: 'c', name: 'look', arguments: '{}' },
      ],
    });
    expect(chat.messages.at(-1)).toEqual({ role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'c', type: 'function', function: { name: 'look', arguments: '{}' } }] });
    expect(detectPrefill(chat, 'auto')).toBeUndefined();
  });

  describe('the final assistant item decides the prefill', () => {
    const user = { role: 'user', content: 'Tell me a story.' };
    const partial = (extra: Record<string, unknown> = {}) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Once upon', annotations: [] }, { type: 'output_text', text: ' a time', annotations: [] }], ...extra });

    it('bare: a prefill in mode auto only (output_text parts joined)', () => {
      const chat = chatOf({ input: [user, partial()] });
      expect(chat.messages.at(-1)).toEqual({ role: 'assistant', content: 'Once upon a time' });
      expect(detectPrefill(chat, 'auto')).toMatchObject({ prefix: 'Once upon a time', trigger: 'trailing_assistant' });
      expect(detectPrefill(chat, 'explicit')).toBeUndefined();
    });

    it('"status": "in_progress": a prefill in every mode but off', () => {
      const chat = chatOf({ input: [user, partial({ status: 'in_progress' })] });
      expect(chat.messages.at(-1)).toMatchObject({ prefix: true });
      expect(detectPrefill(chat, 'auto')).toMatchObject({ trigger: 'prefix' });
      expect(detectPrefill(chat, 'explicit')).toMatchObject({ prefix: 'Once upon a time', trigger: 'prefix' });
      expect(detectPrefill(chat, 'off')).toBeUndefined();
    });

    it('"status": "completed": never', () => {
      const chat = chatOf({ input: [user, partial({ status: 'completed' })] });
      for (const mode of ['auto', 'explicit', 'off'] as const) expect(detectPrefill(chat, mode)).toBeUndefined();
    });

    it('a status on an assistant message that is not the last one changes nothing', () => {
      const chat = chatOf({ input: [user, partial({ status: 'in_progress' }), { role: 'user', content: 'More.' }] });
      expect(chat.messages[1]).toEqual({ role: 'assistant', content: 'Once upon a time' });
    });

    it('a final reasoning item is a reasoning prefill (its reasoning_text, or else its summary)', () => {
      const chat = chatOf({ input: [user, { type: 'reasoning', id: 'rs_1', summary: [], content: [{ type: 'reasoning_text', text: 'The user wants a story,' }] }] });
      expect(chat.messages.at(-1)).toEqual({ role: 'assistant', content: '', reasoning_content: 'The user wants a story,' });
      expect(detectPrefill(chat, 'auto')).toMatchObject({ prefix: '', reasoning: 'The user wants a story,', continues: 'reasoning' });
      const marked = chatOf({ input: [user, { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Thinking' }], status: 'in_progress' }] });
      expect(detectPrefill(marked, 'explicit')).toMatchObject({ reasoning: 'Thinking', trigger: 'prefix' });
    });

    it('reasoning then a partial answer: the answer is continued after the closed thinking', () => {
      const chat = chatOf({ input: [user, { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'A fox story.' }] }, partial()] });
      expect(chat.messages.at(-1)).toEqual({ role: 'assistant', content: 'Once upon a time', reasoning_content: 'A fox story.' });
      expect(detectPrefill(chat, 'auto')).toMatchObject({ continues: 'content', reasoning: 'A fox story.' });
    });
  });

  it('takes tools, tool_choice, text.format, reasoning.effort, echo and the thinking budget', () => {
    const chat = chatOf({
      input: 'Hi',
      tools: [{ type: 'function', name: 'weather', description: 'Weather now', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'weather' },
      text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true }, verbosity: 'medium' },
      reasoning: { effort: 'low', summary: 'auto' },
      echo: true,
      reasoning_budget_tokens: 16,
    });
    expect(chat).toMatchObject({
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather now', parameters: { type: 'object', properties: {} }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'low',
      echo: true,
      reasoning_budget_tokens: 16,
    });
    expect(chat.verbosity).toBeUndefined();
    expect(chatOf({ input: 'Hi', text: { format: { type: 'json_object' } } }).response_format).toEqual({ type: 'json_object' });
    expect(chatOf({ input: 'Hi', text: { format: { type: 'text' } } }).response_format).toBeUndefined();
  });

  it('passes fields the Responses API does not have on as extensions, and keeps its own out', () => {
    const chat = chatOf({ input: 'Hi', top_k: 1, seed: 42, store: false, include: [], metadata: { a: 'b' }, user: 'u', prompt_cache_key: 'k' });
    expect(chat).toEqual({ messages: [{ role: 'user', content: 'Hi' }], top_k: 1, seed: 42 });
  });

  it('collects what only an upstream that speaks Responses can take, with the field it is in', () => {
    const converted = convert({
      input: [{ type: 'item_reference', id: 'msg_1' }, { role: 'user', content: [{ type: 'input_file', file_id: 'f' }, { type: 'input_image', file_id: 'img', detail: 'auto' }] }],
      tools: [{ type: 'web_search' }],
      tool_choice: { type: 'file_search' },
      store: true,
      previous_response_id: 'resp_1',
      include: ['message.output_text.logprobs', 'reasoning.encrypted_content'],
      truncation: 'auto',
    });
    expect(converted.nativeOnly.map((entry) => entry.param)).toEqual([
      'input[0].type',
      'input[1].content[0].type',
      'input[1].content[1].file_id',
      'tools[0].type',
      'tool_choice',
      'store',
      'previous_response_id',
      'include',
      'truncation',
    ]);
    // Values that change nothing are not among them.
    expect(convert({ input: 'Hi', store: false, include: [], truncation: 'disabled', background: false }).nativeOnly).toEqual([]);
    // Codex-style clients ask for encrypted reasoning on every request: without stored state there is none to give.
    expect(convert({ input: 'Hi', include: ['reasoning.encrypted_content'] }).nativeOnly).toEqual([]);
    expect(convert({ model: 'm' }).nativeOnly).toEqual([{ param: 'input', what: expect.stringContaining('without input') }]);
  });

  it('names the exact field of a malformed request', () => {
    expect(refusal({ input: [{ role: 'user', content: [{ type: 'input_text' }] }] })).toMatchObject({ status: 400, param: 'input[0].content[0].text' });
    expect(refusal({ input: [{ type: 'function_call', name: 'f', arguments: '{}' }] })).toMatchObject({ param: 'input[0].call_id' });
    expect(refusal({ input: [{ role: 'robot', content: 'x' }] })).toMatchObject({ param: 'input[0].role' });
    expect(refusal({ input: 'Hi', tools: [{ type: 'function' }] })).toMatchObject({ param: 'tools[0].name' });
    expect(refusal({ input: 'Hi', temperature: 3 })).toMatchObject({ param: 'temperature' });
    expect(refusal({ input: 'Hi', reasoning: { effort: 'extreme' } })).toMatchObject({ param: 'reasoning.effort' });
    expect(refusal({ input: 'Hi', text: { format: { type: 'json_schema', schema: {} } } })).toMatchObject({ param: 'text.format.name' });
    expect(refusal({ input: 42 })).toMatchObject({ param: 'input' });
    expect(refusal({ input: [{ type: 'reasoning', content: [{ type: 'reasoning_text' }] }] })).toMatchObject({ param: 'input[0].content[0].text' });
  });
});
