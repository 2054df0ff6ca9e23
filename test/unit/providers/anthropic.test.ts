import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChatRequest } from '../../../src/chat/schema.js';
import { encodeChatCompletion } from '../../../src/doors/chat/encode.js';
import type { AnswerPlan } from '../../../src/prefill/answer-plan.js';
import { anthropic, modelSupportsPrefill } from '../../../src/providers/anthropic/index.js';
import { DEFAULT_MAX_TOKENS, toAnthropicRequest } from '../../../src/providers/anthropic/request.js';
import { anthropicAnswers, finishReason } from '../../../src/providers/anthropic/answers.js';
import { SseParser } from '../../../src/sse/parser.js';
import { planFor, streamThrough } from '../../helpers/pipeline.js';

const empty = Buffer.alloc(0);
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url));

describe('OpenAI → Anthropic request', () => {
  it('moves system and developer messages to `system`, defaults max_tokens, maps stop and sampling', () => {
    const body = toAnthropicRequest(
      ChatRequest.parse({
        model: 'claude-3-5-haiku-20241022',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
        ],
        stop: 'END',
        temperature: 0.2,
        top_p: 0.9,
        user: 'u-1',
        seed: 3,
        frequency_penalty: 1,
      }),
    );
    expect(body).toEqual({
      model: 'claude-3-5-haiku-20241022',
      max_tokens: DEFAULT_MAX_TOKENS,
      system: 'Be brief.\n\nAnswer in French.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      stop_sequences: ['END'],
      temperature: 0.2,
      top_p: 0.9,
      metadata: { user_id: 'u-1' },
    });
  });

  it('takes max_completion_tokens over max_tokens', () => {
    const body = toAnthropicRequest(ChatRequest.parse({ model: 'm', max_tokens: 10, max_completion_tokens: 20, messages: [{ role: 'user', content: 'x' }] }));
    expect(body.max_tokens).toBe(20);
  });

  it('converts images (data URL and http URL), tools, tool calls and tool results', () => {
    const body = toAnthropicRequest(
      ChatRequest.parse({
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            ],
          },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
          { role: 'tool', tool_call_id: 'call_2', content: 'still a cat' },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }],
        tool_choice: 'required',
        parallel_tool_calls: false,
      }),
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'lookup', input: { q: 'cat' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'a cat' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'still a cat' },
        ],
      },
    ]);
    expect(body.tools).toEqual([{ name: 'lookup', description: 'Looks up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } }]);
    expect(body.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
  });

  it('refuses what Anthropic cannot take, naming the field', () => {
    expect(() => toAnthropicRequest(ChatRequest.parse({ model: 'm', n: 2, messages: [{ role: 'user', content: 'x' }] }))).toThrowError(/n must be 1/);
    expect(() =>
      toAnthropicRequest(ChatRequest.parse({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] })),
    ).toThrowError(/input_audio/);
  });

  it('prefill: trailing whitespace is trimmed, and what was trimmed is stripped from the answer', () => {
    const request = ChatRequest.parse({ model: 'claude-3-7-sonnet-20250219', messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'The quick brown fox  ' }] });
    const plan = planFor('anthropic', request, { raw: empty });
    expect(plan.path).toBe('/v1/messages');
    expect((plan.body as { messages: unknown[] }).messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'The quick brown fox' }] });
    expect(plan.answer).toMatchObject({ kind: 'native', prefix: 'The quick brown fox  ', repeated: { text: '  ' } });
  });

  it('prefill on Claude 4.6 and later, or with extended thinking, takes the fallback', () => {
    for (const model of ['claude-opus-4-6', 'claude-sonnet-4-6-20260101', 'claude-opus-5', 'claude-haiku-4-7']) expect(modelSupportsPrefill(model)).toBe(false);
    for (const model of ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-20250514', 'claude-3-7-sonnet-20250219', 'claude-opus-4-1', 'custom-model']) {
      expect(modelSupportsPrefill(model)).toBe(true);
    }
    const messages = [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Well' }];
    const thinking = ChatRequest.parse({ model: 'claude-sonnet-4-5', messages, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(planFor('anthropic', thinking, { raw: empty }).answer.kind).toBe('emulated');
    const effort = ChatRequest.parse({ model: 'claude-sonnet-4-5', messages, reasoning_effort: 'low' });
    const plan = planFor('anthropic', effort, { raw: empty });
    expect(plan.answer.kind).toBe('emulated');
    expect((plan.body as { thinking: unknown }).thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    expect(() => planFor('anthropic', effort, { fallback: 'reject', raw: empty })).toThrowError(/PREFILL_FALLBACK=reject/);
  });

  it('Anthropic cannot take a reasoning prefix: the fallback applies', () => {
    const thinking = { role: 'assistant', content: '', reasoning_content: 'I need to find' };
    const request = ChatRequest.parse({ model: 'claude-3-7-sonnet-20250219', messages: [{ role: 'user', content: 'x' }, thinking] });
    expect(anthropic.supportsPrefill(request)).toBe(false);
  });

  it('reasoning_budget_tokens becomes Anthropic\'s own thinking budget (at least 1024); 0 means no thinking', () => {
    const ask = (budget: number) => toAnthropicRequest(ChatRequest.parse({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_budget_tokens: budget, max_tokens: 8000 }));
    expect(ask(2000).thinking).toEqual({ type: 'enabled', budget_tokens: 2000 });
    expect(ask(10).thinking).toEqual({ type: 'enabled', budget_tokens: 1024 });
    expect(ask(0).thinking).toBeUndefined();
    expect(ask(2000)).not.toHaveProperty('reasoning_budget_tokens');
  });

  it('the Claude 4.6 prefill 400 and the thinking 400 switch to the fallback; other errors do not', () => {
    expect(anthropic.recoverFromError?.(400, '{"type":"error","error":{"type":"invalid_request_error","message":"This model does not support assistant message prefill. The conversation must end with a user message."}}', {})).toEqual({ fallback: true });
    expect(anthropic.recoverFromError?.(400, 'When `thinking` is enabled, a final `assistant` message must start with a thinking block.', {})).toEqual({ fallback: true });
    expect(anthropic.recoverFromError?.(400, 'max_tokens: Field required', {})).toBeUndefined();
  });

  it('sends x-api-key and anthropic-version', () => {
    expect(anthropic.authHeaders('sk-ant')).toEqual({ 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01' });
  });
});

describe('Anthropic → OpenAI answers', () => {
  it('maps every stop reason', () => {
    expect(['end_turn', 'stop_sequence', 'pause_turn', 'max_tokens', 'model_context_window_exceeded', 'tool_use', 'refusal'].map(finishReason)).toEqual([
      'stop',
      'stop',
      'stop',
      'length',
      'length',
      'tool_calls',
      'content_filter',
    ]);
  });

  it('converts a message with thinking, text and tool use, and its usage with cache fields', () => {
    const answer = anthropicAnswers.whole(
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'thinking', thinking: 'Hmm.', signature: 'sig' },
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 3, cache_read_input_tokens: 7 },
      },
      ChatRequest.parse({ messages: [{ role: 'user', content: 'x' }] }),
    );
    // The neutral answer, as the pipeline sees it.
    expect(answer).toMatchObject({
      id: 'msg_1',
      model: 'claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          content: 'Checking.',
          reasoning: 'Hmm.',
          toolCalls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
          finishReason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 7 } },
    });
    // And as the Chat Completions client gets it.
    const completion = JSON.parse(encodeChatCompletion(answer));
    expect(completion).toMatchObject({
      id: 'msg_1',
      object: 'chat.completion',
      model: 'claude-sonnet-4-5',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: 'Checking.',
            reasoning_content: 'Hmm.',
            tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }],
          },
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25, prompt_tokens_details: { cached_tokens: 7 } },
    });
    expect(completion.choices[0].message.refusal).toBeNull();
    expect(completion.choices[0].logprobs).toBeNull();
  });

  /** Streams a recorded Anthropic stream through the pipeline; returns the data of each event the client got. */
  async function translate(name: string, plan: AnswerPlan, includeUsage = true, pieceSize = 13, bytes = fixture(name)) {
    const request = ChatRequest.parse({ messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: includeUsage } });
    const result = await streamThrough('anthropic', plan, bytes, { pieceSize, includeUsage, request });
    const events: string[] = [];
    new SseParser((event) => {
      // Chat Completions events are unnamed: none of Anthropic's event names leak through.
      expect(event.event).toBeUndefined();
      events.push(event.data);
    }).push(result.text);
    expect(events).toEqual(result.events);
    return events;
  }

  const none: AnswerPlan = { kind: 'none', prefix: '', echo: false };

  it('streams text deltas as OpenAI chunks, then usage and [DONE]', async () => {
    const events = await translate('stream-prefill-text.sse', none);
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    expect(events.at(-1)).toBe('[DONE]');
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('')).toBe(' jumped over the lazy dog.');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 37, completion_tokens: 7, total_tokens: 44 } });
  });

  it('a prefill whose trailing space was trimmed is not given a second space, at every cut', async () => {
    const plan: AnswerPlan = { kind: 'native', prefix: 'The quick brown fox ', echo: false, repeated: { text: ' ', skipLeadingWhitespace: false } };
    for (const size of [1, 7, 4096]) {
      const text = (await translate('stream-prefill-text.sse', plan, false, size))
        .filter((data) => data !== '[DONE]')
        .map((data) => JSON.parse(data).choices[0]?.delta?.content ?? '')
        .join('');
      expect(text).toBe('jumped over the lazy dog.');
    }
    const echoed = (await translate('stream-prefill-text.sse', { ...plan, echo: true }, false))
      .filter((data) => data !== '[DONE]')
      .map((data) => JSON.parse(data).choices[0]?.delta?.content ?? '')
      .join('');
    expect(echoed).toBe('The quick brown fox jumped over the lazy dog.');
  });

  it('streams thinking as reasoning_content and tool use as tool_calls deltas', async () => {
    const chunks = (await translate('stream-thinking-tool-use.sse', none, false))
      .filter((data) => data !== '[DONE]')
      .map((data) => JSON.parse(data));
    const deltas = chunks.map((chunk) => chunk.choices[0].delta);
    expect(deltas.map((delta) => delta.reasoning_content ?? '').join('')).toBe('The user wants the weather in Paris.');
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe('Let me check.');
    const toolDeltas = deltas.filter((delta) => delta.tool_calls).map((delta) => delta.tool_calls[0]);
    expect(toolDeltas[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(toolDeltas.map((delta) => delta.function.arguments).join('')).toBe('{"location": "Paris"}');
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('turns an in-stream error event into an OpenAI error event, without [DONE]', async () => {
    const events = await translate('stream-overloaded.sse', none);
    expect(events).not.toContain('[DONE]');
    expect(JSON.parse(events.at(-1)!)).toEqual({ error: { message: 'Overloaded', type: 'overloaded_error', param: null, code: 'overloaded_error' } });
  });

  it('a stream cut before message_stop ends with an error, not a clean end', async () => {
    const bytes = fixture('stream-prefill-text.sse').toString('utf8');
    const cut = Buffer.from(bytes.slice(0, bytes.indexOf('event: message_delta')));
    const { text } = await streamThrough('anthropic', none, cut, { request: ChatRequest.parse({ messages: [{ role: 'user', content: 'x' }] }) });
    expect(text).not.toContain('[DONE]');
    expect(text).toContain('upstream_stream_truncated');
  });
});
