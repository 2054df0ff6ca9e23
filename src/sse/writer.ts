/**
 * Server-Sent Events as the proxy writes them: one `data:` line per event (JSON never contains a raw
 * line break), an optional `event:` name, and a blank line after each.
 */

/** OpenAI's end-of-stream marker. */
export const SSE_DONE = 'data: [DONE]\n\n';

/** One unnamed event. */
export function sseData(data: string): string {
  return `data: ${data}\n\n`;
}

/** One named event (Anthropic's and the Responses API's style). */
export function sseEvent(name: string, data: string): string {
  return `event: ${name}\ndata: ${data}\n\n`;
}
