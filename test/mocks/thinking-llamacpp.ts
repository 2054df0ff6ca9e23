import type { ServerResponse } from 'node:http';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * A llama.cpp server as the September 2026 build (de3ff81) behaves with a Qwen3-style thinking
 * template (recorded in test/fixtures/llamacpp/real/de3ff81/): the generation prompt opens `<think>`,
 * the model writes its thought, closes it and answers; the server returns the thought as
 * `reasoning_content` and the answer as `content`, streamed in that order.
 *
 * A trailing assistant message with `continue_final_message` is continued where its text stops: with
 * empty content, the thought goes on from its `reasoning_content` (so a closed thought with no answer
 * yet is not expressible: the model thinks on, as the real build does); with content, the thought is
 * over and the answer goes on. Whole answers repeat the prefixes, as the real build does (the reasoning
 * prefix in `reasoning_content`, with a line break when the thought was closed; the content prefix in
 * `content`); streams with `continue_final_message` do not. `/apply-template` renders the template and
 * `/completion` continues a raw prompt, so the proxy's raw route works here too. Words follow fixed
 * sentences, so a continuation can be checked word by word.
 */
export const THOUGHT = 'I need to find the capital of France. France is in Europe and its capital city is Paris, so the answer is Paris.'.split(' ');
export const ANSWER = 'The capital of France is Paris, on the Seine.'.split(' ');

interface Message {
  role: string;
  content?: string | null;
  reasoning_content?: string;
}

const USER = (text: string) => `<|im_start|>user\n${text}<|im_end|>\n`;

/** The thinking ChatML template (test/fixtures/llamacpp/chatml-think.jinja), rendered. */
function render(messages: Message[], addGenerationPrompt: boolean, continueFinal: boolean): string {
  let prompt = '';
  messages.forEach((message, index) => {
    if (message.role !== 'assistant') {
      prompt += message.role === 'user' ? USER(message.content ?? '') : `<|im_start|>${message.role}\n${message.content ?? ''}<|im_end|>\n`;
      return;
    }
    const last = index === messages.length - 1 && continueFinal;
    const reasoning = message.reasoning_content ?? '';
    const content = message.content ?? '';
    prompt += '<|im_start|>assistant\n';
    // Continuing an empty answer: the thought is still open.
    if (last && content === '' && reasoning) prompt += `<think>\n${reasoning}`;
    else {
      if (reasoning) prompt += `<think>\n${reasoning.replace(/^\n+|\n+$/g, '')}\n</think>\n\n`;
      prompt += content;
    }
    if (!last) prompt += '<|im_end|>\n';
  });
  if (addGenerationPrompt && !continueFinal) prompt += '<|im_start|>assistant\n<think>\n';
  return prompt;
}

/** The model: what it writes after a prompt, as tokens (words with their leading space; the close tag one token). */
function generate(prompt: string): { thought: string[]; answer: string[] } {
  const turn = prompt.slice(prompt.lastIndexOf('<|im_start|>assistant\n') + '<|im_start|>assistant\n'.length);
  const close = turn.indexOf('</think>');
  if (!turn.startsWith('<think>') || close === -1) {
    const thoughtSoFar = turn.startsWith('<think>') ? turn.slice('<think>\n'.length) : '';
    return { thought: continueWords(THOUGHT, thoughtSoFar), answer: ANSWER.map((word, i) => (i === 0 ? word : ` ${word}`)) };
  }
  const answerSoFar = turn.slice(close + '</think>'.length).replace(/^\n+/, '');
  return { thought: [], answer: continueWords(ANSWER, answerSoFar) };
}

export async function startThinkingLlamaCpp(options: { port?: number } = {}): Promise<MockServer> {
  return startMockServer(async (request, res) => {
    const body = request.json ?? {};
    const messages = (body.messages ?? []) as Message[];
    const continueFinal = body.continue_final_message !== undefined && body.continue_final_message !== false;
    if (request.method === 'POST' && request.url === '/apply-template') {
      return sendJson(res, 200, { prompt: render(messages, body.add_generation_prompt !== false, continueFinal) });
    }
    if (request.method === 'POST' && request.url === '/completion') return complete(res, body);
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return sendJson(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    if (continueFinal && body.add_generation_prompt !== false) {
      return sendJson(res, 400, { error: { code: 400, message: 'Cannot set both add_generation_prompt and continue_final_message to true.', type: 'invalid_request_error' } });
    }
    const last = messages[messages.length - 1]!;
    const prefilled = last.role === 'assistant';
    const { thought, answer } = generate(render(messages, true, prefilled));
    const limit = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity;
    const thoughtTokens = thought.slice(0, limit);
    const answerTokens = answer.slice(0, Math.max(0, limit - thoughtTokens.length));
    const finish = thoughtTokens.length + answerTokens.length < thought.length + answer.length ? 'length' : 'stop';
    const usage = { prompt_tokens: 30, completion_tokens: thoughtTokens.length + answerTokens.length, total_tokens: 30 + thoughtTokens.length + answerTokens.length };
    const base = { id: 'chatcmpl-think', created: 1_788_000_400, model: 'qwen3-0.6b', system_fingerprint: 'b1-de3ff81' };
    if (body.stream !== true) {
      // Whole answers repeat what was prefilled.
      const content = last.role === 'assistant' && last.content ? last.content : '';
      const reasoningEcho = prefilled && last.reasoning_content ? (last.content ? `${last.reasoning_content}\n` : last.reasoning_content) : '';
      const message: Record<string, unknown> = { role: 'assistant', content: content + answerTokens.join('') };
      const reasoning = reasoningEcho + thoughtTokens.join('');
      if (reasoning.length > 0) message.reasoning_content = reasoning;
      return sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    streamAnswer(res, base, thoughtTokens, answerTokens, finish, usage);
  }, options.port);
}

/** `/completion`: the raw prompt continued, as text (the thought, `\n</think>\n\n`, the answer). */
function complete(res: ServerResponse, body: Record<string, unknown>): void {
  const { thought, answer } = generate(String(body.prompt ?? ''));
  const tokens = thought.length > 0 ? [...thought, '\n</think>\n\n', ...answer] : answer;
  const limit = typeof body.n_predict === 'number' && body.n_predict >= 0 ? body.n_predict : Infinity;
  const written = tokens.slice(0, limit);
  const stopType = written.length < tokens.length ? 'limit' : 'eos';
  const end = { content: '', stop: true, stop_type: stopType, tokens_predicted: written.length, tokens_evaluated: 30, model: 'qwen3-0.6b' };
  if (body.stream !== true) return sendJson(res, 200, { ...end, content: written.join('') });
  startSse(res);
  for (const token of written) writeEvent(res, { index: 0, content: token, stop: false, tokens_predicted: 1, tokens_evaluated: 30 });
  writeEvent(res, end);
  res.end();
}

/** The rest of `sentence` after `written`, which holds its first words. */
function continueWords(sentence: string[], written: string): string[] {
  const count = written.trim().length === 0 ? 0 : written.trim().split(/\s+/).length;
  return sentence.slice(count).map((word, i) => (i === 0 && count === 0 && !/\S$/.test(written) ? word : ` ${word}`));
}

function streamAnswer(res: ServerResponse, base: object, thought: string[], answer: string[], finish: string, usage: object): void {
  startSse(res);
  const chunk = (delta: object, finishReason: string | null, extra: object = {}) => ({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra });
  writeEvent(res, chunk({ role: 'assistant', content: null }, null));
  for (const token of thought) writeEvent(res, chunk({ reasoning_content: token }, null));
  for (const token of answer) writeEvent(res, chunk({ content: token }, null));
  writeEvent(res, chunk({}, finish, { usage }));
  writeEvent(res, '[DONE]');
  res.end();
}
