import { describe, expect, it } from 'vitest';
import type { AnswerEvent } from '../../../src/answer/types.js';
import { estimate } from '../../../src/doors/messages/count-tokens.js';
import { anthropicErrorBody, anthropicErrorType } from '../../../src/doors/messages/errors.js';
import { anthropicUsage, encodeMessage, messageId, stopReason } from '../../../src/doors/messages/message.js';
import { toChatRequest, type ConversionOptions } from '../../../src/doors/messages/request.js';
import { validateCountTokens, validateMessages, type MessagesBody } from '../../../src/doors/messages/schema.js';
import { MessagesStreamEncoder } from '../../../src/doors/messages/stream.js';
import { ProxyError } from '../../../src/errors.js';
import type { Prefill } from '../../../src/prefill/detect.js';
import { messagesNativeCall, trimFinalTurn } from '../../../src/providers/anthropic/native.js';
import { checkMessage, checkStream, parseNamedEvents } from '../../fixtures/anthropic/sdk-shapes.js';

const AUTO: ConversionOptions = { prefill: true, topK: true, nativeThinking: false };
const body = (fields: Partial<MessagesBody>): MessagesBody => validateMessages({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }], ...fields });

describe('Messages request → the request model', () => {
  it('system (string or blocks), user text and images, a final assistant turn marked as a prefill', () => {
    const { chat, uncarried } = toChatRequest(
      body({
        system: [{ type: 'text', text: 'One.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Two.' }],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look:' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
            ],
          },
          { role: 'assistant', content: 'It shows' },
        ],
      }),
      AUTO,
    );
    expect(uncarried).toBeUndefined();
    expect(chat.messages).toEqual([
      { role: 'system', content: 'One.\n\nTwo.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Look:' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
        ],
      },
      { role: 'assistant', content: 'It shows', prefix: true },
    ]);
  });

  it('mode off: the final assistant turn is not marked; an empty final turn is left out', () => {
    const off = toChatRequest(body({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hel' }] }), { ...AUTO, prefill: false });
    expect(off.chat.messages.at(-1)).toEqual({ role: 'assistant', content: 'Hel' });
    const empty = toChatRequest(body({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [] }] }), AUTO);
    expect(empty.chat.messages).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('tool use and tool results in OpenAI\'s order; thinking kept only on the turn being continued', () => {
    const { chat } = toChatRequest(
      body({
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Old thought.', signature: 's' },
              { type: 'redacted_thinking', data: 'xyz' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Here:' },
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny' }, { type: 'text', text: '20C' }] },
            ],
          },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'It is sunny, so', signature: 'sig' }] },
        ],
      }),
      AUTO,
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny\n20C' },
      { role: 'user', content: 'Here:' },
      { role: 'assistant', content: '', reasoning_content: 'It is sunny, so', prefix: true },
    ]);
  });

  it('generation settings in the request model\'s names', () => {
    const { chat } = toChatRequest(
      body({
        stop_sequences: ['END'],
        temperature: 0.2,
        top_p: 0.9,
        top_k: 5,
        stream: true,
        echo: true,
        metadata: { user_id: 'u-1' },
        thinking: { type: 'enabled', budget_tokens: 64 },
        tools: [{ name: 'f', input_schema: { type: 'object' } }],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      }),
      AUTO,
    );
    expect(chat).toMatchObject({
      model: 'm',
      max_tokens: 100,
      stop: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stream: true,
      stream_options: { include_usage: true },
      echo: true,
      user: 'u-1',
      reasoning_budget_tokens: 64,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
    expect(chat).not.toHaveProperty('thinking');
    const tool = toChatRequest(body({ tool_choice: { type: 'tool', name: 'f' }, top_k: 5 }), { ...AUTO, topK: false }).chat;
    expect(tool.tool_choice).toEqual({ type: 'function', function: { name: 'f' } });
    expect(tool).not.toHaveProperty('top_k');
    // An upstream that bounds thinking itself gets the client's own setting, not the proxy's budget.
    const native = toChatRequest(body({ thinking: { type: 'enabled', budget_tokens: 2048 } }), { ...AUTO, nativeThinking: true }).chat;
    expect(native.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(native).not.toHaveProperty('reasoning_budget_tokens');
  });

  it('what the request model cannot carry is reported with Anthropic\'s path (the first of it)', () => {
    const cases: Array<[Partial<MessagesBody>, string]> = [
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }] }, 'messages.0.content.0'],
      [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 'messages.0.content.0.source'],
      [{ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'text', text: 'A', citations: [{ type: 'char_location' }] }] }] }, 'messages.1.content.0.citations'],
      [{ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'd' }] }] }, 'messages.1.content.0'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: {} }] }] }] }, 'messages.0.content.0.content.0'],
      [{ mcp_servers: [{ type: 'url', url: 'https://x' }] } as Partial<MessagesBody>, 'mcp_servers'],
    ];
    for (const [fields, param] of cases) expect(toChatRequest(body(fields), AUTO).uncarried?.param).toBe(param);
  });

  it('validation names the field as Anthropic does; max_tokens is required, but not to count tokens', () => {
    expect(() => validateMessages({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).toThrow('max_tokens: Field required');
    expect(() => validateMessages({ model: 'm', max_tokens: 1, messages: [] })).toThrow(/^messages: /);
    const role = (() => {
      try {
        validateMessages({ model: 'm', max_tokens: 1, messages: [{ role: 'system', content: 'x' }] });
      } catch (err) {
        return err as ProxyError;
      }
    })();
    expect(role).toMatchObject({ status: 400, param: 'messages.0.role' });
    expect(role!.message).toMatch(/^messages\.0\.role: /);
    expect(validateCountTokens({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).model).toBe('m');
  });
});

describe("Anthropic's native call (the Messages request as it came)", () => {
  const prefill = (prefix: string): Prefill => ({ prefix, reasoning: undefined, continues: 'content', index: 1, trigger: 'prefix' });

  it('trims the final turn\'s trailing whitespace (string or text blocks), reporting what it took off', () => {
    expect(trimFinalTurn({ role: 'assistant', content: 'The fox \n' })).toEqual({ message: { role: 'assistant', content: 'The fox' }, removed: ' \n' });
    expect(
      trimFinalTurn({ role: 'assistant', content: [{ type: 'text', text: 'The fox ', cache_control: { type: 'ephemeral' } }, { type: 'text', text: '  ' }] }),
    ).toEqual({ message: { role: 'assistant', content: [{ type: 'text', text: 'The fox', cache_control: { type: 'ephemeral' } }] }, removed: '   ' });
    expect(trimFinalTurn({ role: 'assistant', content: '   ' })).toEqual({ message: undefined, removed: '   ' });
  });

  it('sends the body as it came without echo; a prefill\'s answer strips the removed whitespace once, echoes on request', () => {
    const request = { model: 'claude-3-7-sonnet', max_tokens: 10, echo: true, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'The fox ' }] };
    const call = messagesNativeCall('anthropic-messages', request, prefill('The fox '))!;
    expect(call.path).toBe('/v1/messages');
    expect(call.body).toEqual({ model: 'claude-3-7-sonnet', max_tokens: 10, messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: 'The fox' }] });
    expect(call.answer).toMatchObject({ kind: 'native', prefix: 'The fox ', echo: true, repeated: { text: ' ', skipLeadingWhitespace: false } });
    const plain = messagesNativeCall('anthropic-messages', { ...request, messages: [request.messages[0]] }, undefined)!;
    expect(plain.answer.kind).toBe('none');
    expect(plain.body).not.toHaveProperty('echo');
    expect(messagesNativeCall('openai-responses', request, undefined)).toBeUndefined();
    expect(request.echo).toBe(true);
  });
});

describe('answers as Anthropic Messages', () => {
  it('stop reasons, ids and usage in Anthropic\'s terms', () => {
    expect(['stop', 'length', 'tool_calls', 'content_filter', null].map(stopReason)).toEqual(['end_turn', 'max_tokens', 'tool_use', 'refusal', 'end_turn']);
    expect(messageId('msg_01ABC')).toBe('msg_01ABC');
    expect(messageId('chatcmpl-xyz')).toBe('msg_xyz');
    expect(messageId('')).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(anthropicUsage({ prompt_tokens: 30, completion_tokens: 5, total_tokens: 35, cache_read_input_tokens: 12, cache_creation_input_tokens: 3 })).toEqual({
      input_tokens: 15,
      output_tokens: 5,
      cache_creation_input_tokens: 3,
      cache_read_input_tokens: 12,
    });
    expect(anthropicUsage({ prompt_tokens: 30, completion_tokens: 5, total_tokens: 35, prompt_tokens_details: { cached_tokens: 10 } })).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 10 });
  });

  it('a whole answer: thinking with its signature while unchanged, text, tool_use; of the SDK\'s type', () => {
    const answer = {
      id: 'chatcmpl-1',
      model: 'm',
      created: 0,
      choices: [
        {
          index: 0,
          content: 'Checking.',
          reasoning: 'Hmm.',
          toolCalls: [{ id: 'call_1', type: 'function' as const, function: { name: 'f', arguments: '{"a":1}' } }],
          finishReason: 'tool_calls' as const,
          messageExtra: { thinking_blocks: [{ type: 'thinking', thinking: 'Hmm.', signature: 'sig' }, { type: 'redacted_thinking', data: 'r' }] },
        },
      ],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 },
    };
    const message = JSON.parse(encodeMessage(answer, 'm'));
    expect(checkMessage(message)).toEqual([]);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Hmm.', signature: 'sig' },
      { type: 'redacted_thinking', data: 'r' },
      { type: 'text', text: 'Checking.', citations: null },
      { type: 'tool_use', id: 'call_1', name: 'f', input: { a: 1 }, caller: { type: 'direct' } },
    ]);
    expect(message).toMatchObject({ id: 'msg_1', stop_reason: 'tool_use', usage: { input_tokens: 4, output_tokens: 3 } });
    // Reasoning the proxy changed (an echoed prefix) no longer matches the signed blocks: no signature.
    const echoed = JSON.parse(encodeMessage({ ...answer, choices: [{ ...answer.choices[0]!, reasoning: 'Well. Hmm.' }] }, 'm'));
    expect(echoed.content[0]).toEqual({ type: 'thinking', thinking: 'Well. Hmm.', signature: '' });
    // Nothing generated: one empty text block.
    const empty = JSON.parse(encodeMessage({ id: 'x', model: 'm', created: 0, choices: [{ index: 0, content: '', finishReason: 'length' }] }, 'm'));
    expect(empty.content).toEqual([{ type: 'text', text: '', citations: null }]);
    expect(empty.stop_reason).toBe('max_tokens');
  });
});

describe('streams as Anthropic\'s named events', () => {
  const encode = (events: AnswerEvent[]) => {
    const encoder = new MessagesStreamEncoder('m');
    return parseNamedEvents(events.map((event) => encoder.event(event)).join('') + encoder.end());
  };

  it('blocks open and close as the kind changes: thinking (with signature), text, each tool call', () => {
    const events = encode([
      { type: 'start', identity: { id: 'chatcmpl-7', model: 'up', created: 0 } },
      { type: 'delta', index: 0, role: true, content: '' },
      { type: 'delta', index: 0, reasoning: 'Think' },
      { type: 'delta', index: 0, reasoning: 'ing.' },
      { type: 'delta', index: 0, extra: { thinking_blocks: [{ type: 'thinking', thinking: '', signature: 'sig' }] } },
      { type: 'delta', index: 0, extra: { thinking_blocks: [{ type: 'redacted_thinking', data: 'r' }] } },
      { type: 'delta', index: 0, content: 'Hello' },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, function: { arguments: '{"a":' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 0, function: { arguments: '1}' } }] },
      { type: 'delta', index: 0, toolCalls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] },
      { type: 'finish', index: 0, reason: 'tool_calls' },
      { type: 'usage', usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } },
      { type: 'done' },
    ]);
    expect(checkStream(events)).toEqual([]);
    expect(events.map((event) => event.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]!.data.message).toMatchObject({ id: 'msg_7', model: 'up', stop_reason: null });
    expect(events[5]!.data.delta).toEqual({ type: 'signature_delta', signature: 'sig' });
    expect(events[7]!.data.content_block).toEqual({ type: 'redacted_thinking', data: 'r' });
    expect(events[12]!.data.content_block).toMatchObject({ type: 'tool_use', id: 'call_a', name: 'f', input: {} });
    expect(events.at(-2)!.data).toMatchObject({ delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 9, output_tokens: 4 } });
  });

  it('an empty answer still has a text block; a failure is an error event in Anthropic\'s shape', () => {
    const events = encode([{ type: 'start', identity: { id: 'x', model: 'm', created: 0 } }, { type: 'finish', index: 0, reason: 'stop' }]);
    expect(checkStream(events)).toEqual([]);
    expect(events.filter((event) => event.event === 'content_block_start')).toHaveLength(1);
    const error = new MessagesStreamEncoder('m').error(new ProxyError(502, 'Upstream stream failed.', { type: 'upstream_error', code: 'upstream_connection_lost' }));
    expect(parseNamedEvents(error)).toEqual([{ event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'Upstream stream failed.' } } }]);
  });
});

describe("errors in Anthropic's shape", () => {
  it('the type follows the status; an upstream\'s own Anthropic type is kept where the status does not decide', () => {
    const table: Array<[number, string, string]> = [
      [400, 'invalid_request_error', 'invalid_request_error'],
      [401, 'authentication_error', 'authentication_error'],
      [403, 'authentication_error', 'permission_error'],
      [404, 'not_found_error', 'not_found_error'],
      [413, 'invalid_request_error', 'request_too_large'],
      [415, 'invalid_request_error', 'invalid_request_error'],
      [429, 'requests', 'rate_limit_error'],
      [500, 'server_error', 'api_error'],
      [502, 'upstream_error', 'api_error'],
      [502, 'overloaded_error', 'overloaded_error'],
      [503, 'server_error', 'api_error'],
      [504, 'timeout_error', 'api_error'],
      [529, 'overloaded_error', 'overloaded_error'],
    ];
    for (const [status, type, expected] of table) expect(anthropicErrorType(status, type), `${status} ${type}`).toBe(expected);
    expect(anthropicErrorBody(new ProxyError(404, 'No such model.'))).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'No such model.' } });
  });
});

describe('the count estimate', () => {
  it('grows with the text, counts images, and is positive for the smallest request', () => {
    const small = estimate(validateCountTokens({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(small).toBeGreaterThan(0);
    const longer = estimate(validateCountTokens({ model: 'm', system: 'x'.repeat(400), messages: [{ role: 'user', content: 'Hi' }] }));
    expect(longer - small).toBe(100);
    const image = estimate(validateCountTokens({ model: 'm', messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x' } }] }] }));
    expect(image).toBeGreaterThan(1000);
  });
});
