/**
 * What the mock model servers share: a ChatML chat template and a deterministic "greedy" model whose
 * output depends only on the rendered prompt, so an answer reached through the proxy can be compared
 * with the one from the server's own raw route (`/apply-template` + `/completion`).
 */

export interface TemplateMessage {
  role: string;
  content: unknown;
}

/** Content parts joined with a blank line, as llama.cpp and vLLM do. */
export function renderContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part: { type?: string }) => part?.type === 'text')
    .map((part: { text?: string }) => part.text ?? '')
    .join('\n\n');
}

export function renderChatml(messages: TemplateMessage[], options: { continueFinal: boolean; addGenerationPrompt: boolean }): string {
  let prompt = '';
  const count = messages.length;
  messages.forEach((message, i) => {
    const open = options.continueFinal && i === count - 1 && message.role === 'assistant';
    prompt += `<|im_start|>${message.role}\n${renderContent(message.content)}`;
    if (!open) prompt += '<|im_end|>\n';
  });
  if (!options.continueFinal && options.addGenerationPrompt) prompt += '<|im_start|>assistant\n';
  return prompt;
}

const WORDS = ['the', 'little', 'fox', 'ran', 'home', 'and', 'slept', 'under', 'a', 'tall', 'tree', 'by', 'river'];

/** Deterministic tokens for a prompt (FNV-1a of the prompt picks the words). */
export function greedyTokens(prompt: string, maxTokens = 8): string[] {
  let hash = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) {
    hash ^= prompt.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const tokens: string[] = [];
  const n = Math.min(maxTokens, 8);
  for (let i = 0; i < n; i++) {
    const word = WORDS[(hash + i * 7) % WORDS.length]!;
    // Like a tokenizer, no leading space right after whitespace or at the very start of a turn.
    const glue = i === 0 && (/\s$/.test(prompt) || prompt.length === 0) ? '' : ' ';
    tokens.push(glue + word);
  }
  tokens[tokens.length - 1] += '.';
  return tokens;
}

export function maxTokensOf(body: Record<string, unknown>, fallback = 8): number {
  const value = body.max_completion_tokens ?? body.max_tokens ?? body.n_predict;
  return typeof value === 'number' && value >= 0 ? value : fallback;
}
