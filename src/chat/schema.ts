import { z } from 'zod';

/**
 * Validates only what the proxy itself relies on. Every other field is kept (`z.looseObject`)
 * and forwarded, so new upstream parameters work without a proxy release.
 */

const ContentPart = z.looseObject({ type: z.string() });

export const MessageContent = z.union([z.string(), z.array(ContentPart), z.null()]);

export const Role = z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

export const ChatMessage = z.looseObject({
  role: Role,
  content: MessageContent.optional(),
  prefix: z.boolean().optional(),
  partial: z.boolean().optional(),
  tool_calls: z.array(z.unknown()).nullable().optional(),
  reasoning_content: z.string().nullable().optional(),
});

export const ChatRequest = z.looseObject({
  model: z.string().min(1).optional(),
  messages: z.array(ChatMessage).min(1),
  stream: z.boolean().nullable().optional(),
  echo: z.boolean().nullable().optional(),
  continue_final_message: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullable().optional() }).nullable().optional(),
  /** The proxy's thinking budget: thinking is closed after this many tokens, then the answer follows. */
  reasoning_budget_tokens: z.number().int().min(0).nullable().optional(),
  /** Calls that may continue an answer the upstream cut at its output limit (the proxy's own field). */
  max_continuations: z.number().int().min(0).nullable().optional(),
  max_tokens: z.number().int().min(0).nullable().optional(),
  max_completion_tokens: z.number().int().min(0).nullable().optional(),
});

export type ChatMessage = z.infer<typeof ChatMessage>;
export type ChatRequest = z.infer<typeof ChatRequest>;
export type ContentPart = z.infer<typeof ContentPart>;

/** `messages[2].content` style path, the form OpenAI uses in `param`. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out.length === 0 ? String(key) : `.${String(key)}`;
  }
  return out;
}
