import { badRequest, type ProxyError } from '../errors.js';
import { ChatRequest, issuePath } from './schema.js';

/**
 * Validates a chat request. The zod schema (schema.ts) is the definition; this fast check accepts only
 * what the schema accepts (a property test holds them together) and returns the body as it is,
 * without the copy a zod parse makes. Anything it does not accept goes to zod, which has the final
 * word and the precise error message.
 */
export function validateChatRequest(body: unknown): ChatRequest {
  if (isChatRequest(body)) return body;
  const parsed = ChatRequest.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issuePath(issue.path);
  throw invalid(param, issue.message);
}

function invalid(param: string, message: string): ProxyError {
  return badRequest(`Invalid request${param ? ` at ${param}` : ''}: ${message}`, param || null, 'invalid_request_body');
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

export function isChatRequest(body: unknown): body is ChatRequest {
  if (!isRecord(body)) return false;
  const model = body.model;
  if (model !== undefined && (typeof model !== 'string' || model.length === 0)) return false;
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const message of messages) if (!isMessage(message)) return false;
  if (!optionalBoolean(body.stream) || !optionalBoolean(body.echo) || !optionalBoolean(body.continue_final_message)) return false;
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (!isRecord(streamOptions) || !optionalBoolean(streamOptions.include_usage))) return false;
  return (
    optionalCount(body.reasoning_budget_tokens) &&
    optionalCount(body.max_tokens) &&
    optionalCount(body.max_completion_tokens) &&
    optionalCount(body.max_continuations)
  );
}

function isMessage(message: unknown): boolean {
  if (!isRecord(message) || !ROLES.has(message.role as string)) return false;
  const content = message.content;
  if (content !== undefined && content !== null && typeof content !== 'string') {
    if (!Array.isArray(content)) return false;
    for (const part of content) if (!isRecord(part) || typeof part.type !== 'string') return false;
  }
  if (message.prefix !== undefined && typeof message.prefix !== 'boolean') return false;
  if (message.partial !== undefined && typeof message.partial !== 'boolean') return false;
  const toolCalls = message.tool_calls;
  if (toolCalls !== undefined && toolCalls !== null && !Array.isArray(toolCalls)) return false;
  const reasoning = message.reasoning_content;
  return reasoning === undefined || reasoning === null || typeof reasoning === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalBoolean(value: unknown): boolean {
  return value === undefined || value === null || typeof value === 'boolean';
}

function optionalCount(value: unknown): boolean {
  return value === undefined || value === null || (Number.isSafeInteger(value) && (value as number) >= 0);
}
