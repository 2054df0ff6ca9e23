import { describe, expect, it } from 'vitest';
import { alreadyTrailingAssistant, withBodyExtras } from '../../../src/providers/openai-chat/request.js';
import { chat, planFor } from '../../helpers/pipeline.js';

/**
 * A trailing-assistant prefill whose request needs nothing but a few added fields goes as the client's
 * bytes with those fields spliced in (no re-serialization). What goes must be, as JSON, exactly what
 * the rebuilt body would have been; every request that needs more than that must be rebuilt.
 */
const base = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Capital of France?' },
];
const spliceable: Array<[string, Record<string, unknown>]> = [
  ['a trailing assistant message', { model: 'm', messages: [...base, { role: 'assistant', content: 'The capital is' }] }],
  ['sampling fields and tools kept', { model: 'm', temperature: 0, stream: true, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }], messages: [...base, { role: 'assistant', content: 'It is' }] }],
  ['an empty prefix after a tool call turn', { model: 'm', messages: [...base, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'c', content: '1' }, { role: 'assistant', content: 'So' }] }],
];
const rebuilt: Array<[string, Record<string, unknown>]> = [
  ['prefix: true on the message (a proxy-only field)', { model: 'm', messages: [...base, { role: 'assistant', content: 'It is', prefix: true }] }],
  ['content as text parts', { model: 'm', messages: [...base, { role: 'assistant', content: [{ type: 'text', text: 'It ' }, { type: 'text', text: 'is' }] }] }],
  ['a reasoning prefix', { model: 'm', messages: [...base, { role: 'assistant', content: '', reasoning_content: 'Paris, surely' }] }],
  ['echo (a proxy-only field)', { model: 'm', echo: true, messages: [...base, { role: 'assistant', content: 'It is' }] }],
];
/** For the providers that add continue_final_message and add_generation_prompt (Groq adds nothing). */
const clientSetExtra = { model: 'm', add_generation_prompt: true, messages: [...base, { role: 'assistant', content: 'It is' }] };

const bytesOf = (body: Record<string, unknown>) => Buffer.from(`${JSON.stringify(body, null, 1)}\n`);

describe('the client bytes with the provider fields spliced in', () => {
  for (const id of ['vllm', 'llamacpp', 'groq'] as const) {
    for (const [name, body] of spliceable) {
      it(`${id}: ${name} goes as the client's bytes, equal as JSON to the rebuilt body`, () => {
        const spliced = planFor(id, chat(body), { raw: bytesOf(body) });
        const rebuiltPlan = planFor(id, chat(body));
        expect(Buffer.isBuffer(spliced.body)).toBe(true);
        expect(JSON.parse((spliced.body as Buffer).toString('utf8'))).toEqual(rebuiltPlan.body);
        expect(spliced.answer).toEqual(rebuiltPlan.answer);
      });
    }
    for (const [name, body] of id === 'groq' ? rebuilt : [...rebuilt, ['the client set add_generation_prompt itself', clientSetExtra] as const]) {
      it(`${id}: ${name} is rebuilt`, () => {
        const plan = planFor(id, chat(body), { raw: bytesOf(body) });
        expect(Buffer.isBuffer(plan.body)).toBe(false);
        expect(plan).toEqual(planFor(id, chat(body)));
      });
    }
  }

  it('llamacpp: two trailing assistant turns (merged) and max_completion_tokens (renamed) are rebuilt', () => {
    const twoTurns = { model: 'm', messages: [...base, { role: 'assistant', content: 'Let me see.' }, { role: 'assistant', content: 'It is' }] };
    const renamed = { model: 'm', max_completion_tokens: 9, messages: [...base, { role: 'assistant', content: 'It is' }] };
    for (const body of [twoTurns, renamed]) expect(Buffer.isBuffer(planFor('llamacpp', chat(body), { raw: bytesOf(body) }).body)).toBe(false);
    // Either would be spliced on vLLM, which takes both as they are.
    for (const body of [twoTurns, renamed]) expect(Buffer.isBuffer(planFor('vllm', chat(body), { raw: bytesOf(body) }).body)).toBe(true);
  });

  it('splices before the closing brace whatever whitespace follows it, and only into an object', () => {
    const extras = { continue_final_message: true, add_generation_prompt: false };
    expect(withBodyExtras(Buffer.from('{"a":1} \r\n\t'), extras)?.toString()).toBe('{"a":1,"continue_final_message":true,"add_generation_prompt":false}');
    expect(withBodyExtras(Buffer.from('{ }'), extras)?.toString()).toBe('{ "continue_final_message":true,"add_generation_prompt":false}');
    expect(withBodyExtras(Buffer.from('[1]'), extras)).toBeUndefined();
    expect(withBodyExtras(Buffer.from('{"a":1}'), undefined)?.toString()).toBe('{"a":1}');
  });

  it('no splice without the prefill as the last message', () => {
    const request = chat({ model: 'm', messages: [...base, { role: 'assistant', content: 'It is' }] });
    expect(alreadyTrailingAssistant(request, { index: 1, prefix: 'It is', continues: 'content' } as never, {})).toBe(false);
  });
});
