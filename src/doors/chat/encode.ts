import type { Answer, AnswerChoice, AnswerEvent } from '../../answer/types.js';
import type { ProxyError } from '../../errors.js';
import type { Door, StreamEncoder } from '../../pipeline/types.js';
import { SSE_DONE, sseData } from '../../sse/writer.js';

/**
 * The Chat Completions door's wire format: the pipeline's answer as an OpenAI `chat.completion`, its
 * stream as `chat.completion.chunk` events closed by `[DONE]`, and errors as `{"error": {...}}`.
 * Reasoning goes in `reasoning_content` (DeepSeek's convention, which most servers share).
 */

function messageOf(choice: AnswerChoice): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: choice.content, refusal: choice.refusal ?? null };
  if (choice.reasoning !== undefined) message.reasoning_content = choice.reasoning;
  if (choice.toolCalls) message.tool_calls = choice.toolCalls;
  if (choice.messageExtra) Object.assign(message, choice.messageExtra);
  return message;
}

export function encodeChatCompletion(answer: Answer): string {
  const body: Record<string, unknown> = {
    id: answer.id,
    object: 'chat.completion',
    created: answer.created,
    model: answer.model,
    choices: answer.choices.map((choice) => ({
      index: choice.index,
      message: messageOf(choice),
      logprobs: choice.logprobs ?? null,
      finish_reason: choice.finishReason,
    })),
  };
  if (answer.usage) body.usage = answer.usage;
  if (answer.extra) Object.assign(body, answer.extra);
  return JSON.stringify(body);
}

/** One `data:` line per event; the chunk's identity written once and reused. */
export class ChatStreamEncoder implements StreamEncoder {
  private prelude = '{"id":"","object":"chat.completion.chunk","created":0,"model":""';

  event(event: AnswerEvent): string {
    switch (event.type) {
      case 'start': {
        const { id, created, model } = event.identity;
        let prelude = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)}`;
        if (event.extra) for (const key in event.extra) prelude += `,${JSON.stringify(key)}:${JSON.stringify(event.extra[key])}`;
        this.prelude = prelude;
        return '';
      }
      case 'delta': {
        const delta: Record<string, unknown> = {};
        if (event.role) delta.role = 'assistant';
        if (event.content !== undefined) delta.content = event.content;
        if (event.reasoning !== undefined) delta.reasoning_content = event.reasoning;
        if (event.toolCalls) delta.tool_calls = event.toolCalls;
        if (event.refusal !== undefined) delta.refusal = event.refusal;
        if (event.extra) Object.assign(delta, event.extra);
        const logprobs = event.logprobs === undefined ? 'null' : JSON.stringify(event.logprobs);
        return sseData(`${this.prelude},"choices":[{"index":${event.index},"delta":${JSON.stringify(delta)},"logprobs":${logprobs},"finish_reason":null}]}`);
      }
      case 'finish':
        return sseData(`${this.prelude},"choices":[{"index":${event.index},"delta":{},"logprobs":null,"finish_reason":${JSON.stringify(event.reason)}}]}`);
      case 'usage':
        return sseData(`${this.prelude},"choices":[],"usage":${JSON.stringify(event.usage)}}`);
      case 'done':
        return '';
      case 'error':
        return sseData(JSON.stringify({ error: { message: event.error.message, type: event.error.type, param: event.error.param, code: event.error.code } }));
      default: {
        const unexpected: never = event;
        throw new Error(`unknown answer event ${JSON.stringify(unexpected)}`);
      }
    }
  }

  end(): string {
    return SSE_DONE;
  }

  error(error: ProxyError): string {
    return sseData(JSON.stringify(error.toJSON()));
  }
}

export const chatDoor: Door = {
  id: 'chat',
  wire: 'openai-chat',
  encodeAnswer: (answer) => encodeChatCompletion(answer),
  streamEncoder: () => new ChatStreamEncoder(),
  errorBody: (error) => error.toJSON(),
};
