/**
 * An answer in the pipeline's own, door-neutral terms. Providers decode their upstream's answers into
 * these (whole, or as a stream of events); doors encode them into their wire format (Chat Completions
 * chunks, Anthropic's named events, the Responses API's events). Names follow OpenAI's where one
 * exists (`finish_reason` values, usage counters), since most upstreams speak it.
 */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

/** Token counts, OpenAI-named; providers map theirs (input/output tokens, cache counters) onto them. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Details the upstream gave (cached tokens, reasoning tokens, ...), passed on as they came. */
  [detail: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** A piece of a tool call as streams deliver them (OpenAI's `delta.tool_calls[]`). */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** The text of a whole choice, as the prefill's rewrite sees it (an AnswerChoice, or a wire message's view of one). */
export interface ChoiceTextFields {
  content: string | null;
  reasoning?: string;
}

export interface AnswerChoice {
  index: number;
  /** The generated text; null for an answer that is only tool calls. */
  content: string | null;
  reasoning?: string;
  toolCalls?: ToolCall[];
  refusal?: string | null;
  finishReason: FinishReason | null;
  logprobs?: unknown;
  /** Other message fields the upstream sent (annotations, audio, ...), passed on. */
  messageExtra?: Record<string, unknown>;
}

/** Identity of an answer: the first upstream call's, whatever calls follow. */
export interface AnswerIdentity {
  id: string;
  model: string;
  created: number;
}

export interface Answer extends AnswerIdentity {
  choices: AnswerChoice[];
  usage?: Usage;
  /** Other top-level fields the upstream sent (system_fingerprint, service_tier, llama.cpp's timings). */
  extra?: Record<string, unknown>;
}

/** One step of a streamed answer. */
export type AnswerEvent =
  /** The answer began; `extra` holds top-level fields worth repeating on every chunk (system_fingerprint). */
  | { type: 'start'; identity: AnswerIdentity; extra?: Record<string, unknown> }
  /** New text, reasoning or tool-call pieces for one choice; `role` marks its first event. */
  | {
      type: 'delta';
      index: number;
      role?: boolean;
      content?: string;
      reasoning?: string;
      toolCalls?: ToolCallDelta[];
      refusal?: string;
      logprobs?: unknown;
      /** Other delta fields the upstream sent, passed on. */
      extra?: Record<string, unknown>;
    }
  /** One choice is complete. */
  | { type: 'finish'; index: number; reason: FinishReason; logprobs?: unknown }
  /** Token counts (a stream may carry several; the last is the total). */
  | { type: 'usage'; usage: Usage }
  /** The upstream's own end-of-stream marker ([DONE], message_stop, ...): the answer is complete. */
  | { type: 'done' }
  /** The upstream reported an error mid-stream. */
  | { type: 'error'; error: StreamErrorInfo };

export interface StreamErrorInfo {
  status: number;
  message: string;
  type: string;
  code: string | null;
  param: string | null;
}
