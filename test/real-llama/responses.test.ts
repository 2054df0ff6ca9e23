/**
 * The Responses door (`POST /v1/responses`) against real llama.cpp servers (b5640 and de3ff81, plain
 * ChatML and a thinking template), driven with the official `openai` SDK and compared with llama.cpp's
 * own ground truth: the prompt de3ff81's `/apply-template` renders, continued greedily by `/completion`
 * on the build under test. Every answer and every stream event is checked against OpenAI's schema.
 * (llama.cpp's own `/v1/responses` is not used: it is what this door replaces.)
 *
 * Skipped (with one warning) when the binaries are absent; LLAMA_SERVERS_REQUIRED=1 makes that a failure.
 */
import type OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SseParser } from '../../src/sse/parser.js';
import { validateResponse, validateResponseStreamEvent } from '../helpers/openai-schema.js';
import { startProxy, type RunningProxy } from '../helpers/proxy.js';
import { describeLlama, GREEDY, groundTruth, KNOWN_LLAMA_BUILDS, startLlamaServers, type ChatMessage, type LlamaServer, type LlamaTemplate } from '../helpers/llama-servers.js';

const TEMPLATES: LlamaTemplate[] = ['chatml', 'think'];
const COMBOS = KNOWN_LLAMA_BUILDS.flatMap((build) => TEMPLATES.map((template) => ({ build, template })));
const THINKING = COMBOS.filter((combo) => combo.template === 'think');
const MAX = 24;

const U = { role: 'user', content: 'Tell me a story.' };
const PREFIX = 'Once upon a time';
const REASONING = 'The user wants a story about a cat.';

type Event = Record<string, unknown> & { type: string; sequence_number: number };
type Output = Array<{ type: string; content?: Array<{ type: string; text?: string }> }>;

const textOf = (output: Output, type: 'message' | 'reasoning') =>
  output
    .filter((item) => item.type === type)
    .flatMap((item) => item.content ?? [])
    .map((part) => part.text ?? '')
    .join('');

/** A whole answer through the wire: valid against the schema, its message and reasoning text. */
async function whole(proxy: RunningProxy, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ model: 'stories', max_output_tokens: MAX, ...GREEDY, ...body }) });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const answer = JSON.parse(text) as Record<string, unknown>;
  expect(validateResponse(answer).errors, text).toEqual([]);
  return { prefill: response.headers.get('x-prefill'), content: textOf(answer.output as Output, 'message'), reasoning: textOf(answer.output as Output, 'reasoning'), answer };
}

/** A streamed answer through the wire: every event valid and in sequence; the deltas joined. */
async function streamed(proxy: RunningProxy, body: Record<string, unknown>) {
  const response = await fetch(`${proxy.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'stories', max_output_tokens: MAX, ...GREEDY, ...body, stream: true }) });
  const events: Event[] = [];
  new SseParser((event) => {
    const data = JSON.parse(event.data) as Event;
    expect(event.event).toBe(data.type);
    expect(validateResponseStreamEvent(data).errors, event.data).toEqual([]);
    events.push(data);
  }).push(await response.text());
  events.forEach((event, index) => expect(event.sequence_number).toBe(index));
  const join = (type: string) => events.filter((event) => event.type === type).map((event) => event.delta as string);
  const deltas = join('response.output_text.delta');
  return { content: deltas.join(''), firstDelta: deltas[0], reasoning: join('response.reasoning_text.delta').join(''), last: events.at(-1)!, events };
}

describeLlama('the Responses door on real llama.cpp servers', () => {
  let servers: LlamaServer[] = [];
  const proxies = new Map<string, RunningProxy>();
  const server = (build: string, template: string) => servers.find((s) => s.build === build && s.template === template)!;
  const proxy = (build: string, template: string) => proxies.get(`${build}/${template}`)!;
  const truth = (build: string, template: LlamaTemplate, messages: ChatMessage[]) =>
    groundTruth({ templateUrl: server('de3ff81', template).url, completionUrl: server(build, template).url, messages, n_predict: MAX });

  beforeAll(async () => {
    servers = await startLlamaServers(COMBOS);
    for (const s of servers) proxies.set(`${s.build}/${s.template}`, await startProxy({ UPSTREAM_URL: s.url, UPSTREAM_PROVIDER: 'llamacpp' }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...proxies.values()].map((p) => p.close()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  it.each(COMBOS)('$build ($template): a final assistant message is continued exactly as llama.cpp continues it: whole, streamed, echoed, SDK', async ({ build, template }) => {
    const expected = (await truth(build, template, [U, { role: 'assistant', content: PREFIX }])).continuation;
    expect(expected.length).toBeGreaterThan(0);
    const p = proxy(build, template);
    // The partial answer as a Responses client holds it: an output message with output_text parts.
    const input = [U, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Once upon', annotations: [] }, { type: 'output_text', text: ' a time', annotations: [] }] }];
    const plain = await whole(p, { input });
    expect(plain.prefill).toBe('native');
    expect(plain.content).toBe(expected);
    expect(plain.reasoning).toBe('');
    expect(plain.answer.usage).toMatchObject({ output_tokens: expect.any(Number), input_tokens: expect.any(Number) });
    const stream = await streamed(p, { input });
    expect(stream.content).toBe(expected);
    expect(stream.last.type).toMatch(/^response\.(completed|incomplete)$/);
    expect((await whole(p, { input, echo: true })).content).toBe(PREFIX + expected);
    const echoed = await streamed(p, { input, echo: true });
    expect(echoed.content).toBe(PREFIX + expected);
    expect(echoed.firstDelta?.startsWith(PREFIX)).toBe(true);
    const sdk = await p.client.responses
      .stream({ model: 'stories', max_output_tokens: MAX, temperature: 0, input: input as OpenAI.Responses.ResponseInput, top_k: 1, seed: 42 } as Parameters<typeof p.client.responses.stream>[0])
      .finalResponse();
    expect(sdk.output_text).toBe(expected);
  });

  it.each(COMBOS)('$build ($template): "status": "in_progress" continues it in mode explicit; a bare message there is a clear 400', async ({ build, template }) => {
    const p = proxy(build, template);
    const explicit = { 'x-prefill-mode': 'explicit' };
    const expected = (await truth(build, template, [U, { role: 'assistant', content: PREFIX }])).continuation;
    const marked = await whole(p, { input: [U, { role: 'assistant', content: PREFIX, status: 'in_progress' }] }, explicit);
    expect(marked.prefill).toBe('native');
    expect(marked.content).toBe(expected);
    const error = await p.client.responses
      .create({ model: 'stories', input: [U, { role: 'assistant', content: PREFIX }] as OpenAI.Responses.ResponseInput, max_output_tokens: MAX }, { headers: explicit })
      .catch((err: unknown) => err);
    expect(error).toMatchObject({ status: 400, code: 'prefill_mode_unsupported', param: 'input[1]' });
  });

  it.each(COMBOS)('$build ($template): input that is not a prefill is llama.cpp\'s own answer', async ({ build, template }) => {
    const expected = (await truth(build, template, [U])).continuation;
    const answer = await whole(proxy(build, template), { input: 'Tell me a story.' });
    expect(answer.prefill).toBe('none');
    // With the thinking template the answer is thinking (the June 2025 build trims its trailing whitespace).
    if (template === 'think') expect(answer.reasoning.trimEnd()).toBe(expected.trimEnd());
    else expect(answer.content).toBe(expected);
  });

  it.each(THINKING)('$build (think): a final reasoning item continues the thinking exactly, whole and streamed', async ({ build }) => {
    const expected = (await truth(build, 'think', [U, { role: 'assistant', content: '', reasoning_content: REASONING }])).continuation;
    const [thought] = expected.split('</think>');
    const p = proxy(build, 'think');
    const input = [U, { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: REASONING }] }];
    const plain = await whole(p, { input });
    expect(plain.prefill).toBe('native');
    expect(plain.reasoning).toBe(thought);
    expect(plain.content).not.toContain('<think>');
    expect((await streamed(p, { input })).reasoning).toBe(thought);
    expect((await whole(p, { input, echo: true })).reasoning).toBe(REASONING + thought);
  });

  it.each(THINKING)('$build (think): reasoning then a partial answer: the answer is continued exactly, the thinking not repeated', async ({ build }) => {
    const truthOf = await truth(build, 'think', [U, { role: 'assistant', content: PREFIX, reasoning_content: REASONING }]);
    const p = proxy(build, 'think');
    const input = [U, { type: 'reasoning', summary: [{ type: 'summary_text', text: REASONING }] }, { role: 'assistant', content: PREFIX }];
    const plain = await whole(p, { input });
    expect(plain.content).toBe(truthOf.continuation);
    expect(plain.reasoning).toBe('');
    const stream = await streamed(p, { input });
    expect(stream.content).toBe(truthOf.continuation);
    expect(stream.reasoning).toBe('');
  });

  it.each(THINKING)('$build (think): the thinking budget gives the same answer as on the chat door, reasoning and message items', async ({ build }) => {
    const p = proxy(build, 'think');
    const chat = await p.client.chat.completions.create({ model: 'stories', messages: [U], max_tokens: 30, reasoning_budget_tokens: 6, ...GREEDY } as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming);
    const message = chat.choices[0]!.message as { content: string; reasoning_content?: string };
    const body = { input: 'Tell me a story.', max_output_tokens: 30, reasoning_budget_tokens: 6 };
    const plain = await whole(p, body);
    expect(plain.reasoning).toBe(message.reasoning_content);
    expect(plain.content).toBe(message.content);
    expect((plain.answer.output as Output).map((item) => item.type)).toEqual(['reasoning', 'message']);
    const stream = await streamed(p, body);
    expect(stream.reasoning).toBe(message.reasoning_content);
    expect(stream.content).toBe(message.content);
  });
});
