import type { ServerResponse } from 'node:http';
import { sendJson, startMockServer, startSse, writeEvent, type MockServer } from './server.js';

/**
 * A vLLM-style server (OpenAI Chat Completions, prefill by `continue_final_message` with
 * `add_generation_prompt: false`) whose model knows one story and tells it a few words per call: it
 * stops every answer at its own output limit (`cap` words: `finish_reason: "length"`), and a trailing
 * assistant message is continued where its text stops, with the continuation only. So an answer
 * carried on by the proxy over several calls must come out as the whole story. Faults on demand:
 * drop a stream after some events, or cut a whole answer's body, for the first few requests.
 */
export const STORY =
  'Once upon a time a small fox lived by a wide river. Every morning she watched the boats go by and wished she could cross. One day she built a raft of reeds, and at dawn she sailed to the other side.'.split(' ');

export interface StoryOptions {
  /** Words per answer at most (the server's own output limit). */
  cap?: number;
  /** Streams: destroy the connection after this many content events, for the first `faults` requests. */
  dropAfterEvents?: number;
  /** Whole answers: send the headers and half the body, then destroy the connection (first `faults` requests). */
  cutBody?: boolean;
  /** How many requests get the fault (default 1). */
  faults?: number;
  /** Refuse a continuation (400), as a model without prefill would. */
  noPrefill?: boolean;
}

interface Message {
  role: string;
  content?: string | null;
}

export async function startStory(options: StoryOptions = {}): Promise<MockServer> {
  let faultsLeft = options.faults ?? 1;
  return startMockServer(async (request, res) => {
    if (request.method !== 'POST' || request.url !== '/v1/chat/completions') return sendJson(res, 404, { object: 'error', message: 'Not Found', type: 'NotFoundError', code: 404 });
    const body = request.json ?? {};
    const messages = (body.messages ?? []) as Message[];
    const last = messages[messages.length - 1];
    const continuing = body.continue_final_message === true && last?.role === 'assistant';
    if (continuing && options.noPrefill) return sendJson(res, 400, { object: 'error', message: 'Continuation is not supported by this model.', type: 'BadRequestError', code: 400 });
    const written = continuing ? (last.content ?? '') : '';
    const done = written.trim().length === 0 ? 0 : written.trim().split(/\s+/).length;
    const rest = STORY.slice(done);
    const cap = Math.min(options.cap ?? 8, typeof body.max_tokens === 'number' ? body.max_tokens : Infinity);
    const words = rest.slice(0, cap);
    const tokens = words.map((word, i) => (i === 0 && (done === 0 || /\s$/.test(written)) ? word : ` ${word}`));
    const finish = rest.length > cap ? 'length' : 'stop';
    const usage = { prompt_tokens: 20 + done, completion_tokens: tokens.length, total_tokens: 20 + done + tokens.length };
    const id = `chatcmpl-story-${request.url.length}${Math.random().toString(36).slice(2, 10)}`;
    const fault = faultsLeft > 0 && (options.dropAfterEvents !== undefined || options.cutBody === true);
    if (fault) faultsLeft--;
    if (body.stream !== true) {
      const answer = JSON.stringify({
        id,
        object: 'chat.completion',
        created: 1_788_000_000,
        model: String(body.model ?? 'story'),
        choices: [{ index: 0, message: { role: 'assistant', content: tokens.join(''), refusal: null }, logprobs: null, finish_reason: finish }],
        usage,
      });
      if (fault && options.cutBody) return cutBody(res, answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      return void res.end(answer);
    }
    startSse(res);
    const chunk = (delta: object, finishReason: string | null) => ({ id, object: 'chat.completion.chunk', created: 1_788_000_000, model: String(body.model ?? 'story'), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] });
    writeEvent(res, chunk({ role: 'assistant', content: '' }, null));
    let sent = 0;
    for (const token of tokens) {
      if (fault && options.dropAfterEvents !== undefined && sent === options.dropAfterEvents) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return void res.socket?.destroy();
      }
      writeEvent(res, chunk({ content: token }, null));
      sent++;
    }
    writeEvent(res, chunk({}, finish));
    const streamOptions = body.stream_options as { include_usage?: boolean } | undefined;
    if (streamOptions?.include_usage) writeEvent(res, { id, object: 'chat.completion.chunk', created: 1_788_000_000, model: String(body.model ?? 'story'), choices: [], usage });
    writeEvent(res, '[DONE]');
    res.end();
  });
}

function cutBody(res: ServerResponse, answer: string): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
  res.write(answer.slice(0, Math.floor(answer.length / 2)));
  setTimeout(() => res.socket?.destroy(), 20);
}

/** The first `n` words of the story, as one text. */
export function storyWords(n: number, from = 0): string {
  return STORY.slice(from, from + n).join(' ');
}
