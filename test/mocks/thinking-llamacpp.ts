import type { ServerResponse } from 'node:http';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * A llama.cpp server (2026 build, `--reasoning-format deepseek`) serving a thinking model: the model
 * writes its thought, then its answer; the server returns the thought as `reasoning_content` and the
 * answer as `content`, streamed in that order. A trailing assistant message is continued as a template
 * would: with `continue_final_message: "reasoning_content"` the thought goes on from its
 * `reasoning_content`; with `continue_final_message: true` the thought is over and the answer goes on
 * from its `content`. Words follow fixed sentences, so a continuation can be checked word by word.
 */
export const THOUGHT = 'I need to find the capital of France. France is in Europe and its capital city is Paris, so the answer is Paris.'.split(' ');
export const ANSWER = 'The capital of France is Paris, on the Seine.'.split(' ');

interface Message {
  role: string;
  content?: string;
  reasoning_content?: string;
}

export async function startThinkingLlamaCpp(options: { port?: number } = {}): Promise<MockServer> {
  return startMockServer(async (request, res) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return sendJson(res, 404, { error: { code: 404, message: 'File Not Found', type: 'not_found_error' } });
    const body = request.json ?? {};
    const continueFinal = body.continue_final_message;
    if (continueFinal !== undefined && body.add_generation_prompt !== false) {
      return sendJson(res, 400, { error: { code: 400, message: 'continue_final_message requires add_generation_prompt to be false', type: 'invalid_request_error' } });
    }
    const messages = body.messages as Message[];
    const last = messages[messages.length - 1]!;
    let thought: string[] = [];
    let answer: string[];
    if (last.role === 'assistant' && continueFinal === 'reasoning_content') {
      thought = continueWords(THOUGHT, last.reasoning_content ?? '');
      answer = ANSWER.map((word, i) => (i === 0 ? word : ` ${word}`));
    } else if (last.role === 'assistant') {
      answer = continueWords(ANSWER, last.content ?? '');
    } else {
      thought = THOUGHT.map((word, i) => (i === 0 ? word : ` ${word}`));
      answer = ANSWER.map((word, i) => (i === 0 ? word : ` ${word}`));
    }
    const limit = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity;
    const thoughtTokens = thought.slice(0, limit);
    const answerTokens = answer.slice(0, Math.max(0, limit - thoughtTokens.length));
    const finish = thoughtTokens.length + answerTokens.length < thought.length + answer.length ? 'length' : 'stop';
    const usage = { prompt_tokens: 30, completion_tokens: thoughtTokens.length + answerTokens.length, total_tokens: 30 + thoughtTokens.length + answerTokens.length };
    const base = { id: 'chatcmpl-think', created: 1_788_000_400, model: 'qwen3-0.6b', system_fingerprint: 'b7311-5d2f1c4a' };
    if (body.stream !== true) {
      const message: Record<string, unknown> = { role: 'assistant', content: answerTokens.join('') };
      if (thoughtTokens.length > 0) message.reasoning_content = thoughtTokens.join('');
      return sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage });
    }
    streamAnswer(res, base, thoughtTokens, answerTokens, finish, usage);
  }, options.port);
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
