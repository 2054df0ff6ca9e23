import { z } from 'zod';
import { badRequest } from '../../errors.js';

/**
 * Anthropic's Messages request (https://docs.anthropic.com/en/api/messages), validated for what the
 * proxy relies on. Every other field is kept (`z.looseObject`): a request for Anthropic goes as it
 * came, and the conversion to the request model (request.ts) checks each content block it reads.
 */

const Block = z.looseObject({ type: z.string() });
const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });

const Message = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: z.union([z.string(), z.array(Block)]),
});

const ToolChoice = z.looseObject({
  type: z.enum(['auto', 'any', 'tool', 'none']),
  name: z.string().optional(),
  disable_parallel_tool_use: z.boolean().optional(),
});

const CountTokensRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(Message).min(1),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  tool_choice: ToolChoice.optional(),
  thinking: z.looseObject({ type: z.string(), budget_tokens: z.number().int().min(0).optional() }).optional(),
});

export const MessagesRequest = CountTokensRequest.extend({
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
  /** The proxy's own: prefix + continuation in the answer. */
  echo: z.boolean().optional(),
});

export type MessagesBody = z.infer<typeof MessagesRequest>;
export type CountTokensBody = z.infer<typeof CountTokensRequest>;
export type MessageParam = z.infer<typeof Message>;
export type BlockParam = z.infer<typeof Block>;

/** A Messages request, or a 400 naming the field as Anthropic does (`messages.1.content: …`). */
export function validateMessages(body: unknown): MessagesBody {
  return check(MessagesRequest, body);
}

/** A count_tokens request: the Messages request without the generation settings. */
export function validateCountTokens(body: unknown): CountTokensBody {
  return check(CountTokensRequest, body);
}

function check<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = anthropicPath(issue.path);
  const missing = issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined;
  const message = missing ? 'Field required' : issue.message;
  return invalid(param, message);
}

function invalid(param: string, message: string): never {
  throw badRequest(param ? `${param}: ${message}` : message, param || null, 'invalid_request_body');
}

/** `messages.1.content.0.type`: the form Anthropic names a field in. */
export function anthropicPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.');
}

function valueAt(body: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
