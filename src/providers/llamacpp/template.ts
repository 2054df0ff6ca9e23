import type { JsonBody, ProviderCallContext } from '../types.js';

/**
 * What a llama.cpp server's chat template does with a partial assistant turn, learned once per
 * upstream from its own `/apply-template` (and remembered a few minutes, so a restarted server with
 * another template or build is noticed):
 * - `thinking`: the template opens a thinking block for the assistant (`<think>`), as Qwen3-style
 *   templates do;
 * - `rendersReasoning`: the server renders a final assistant message's `reasoning_content` (2026
 *   builds do; June 2025 builds drop it, and put the content inside the open thinking instead);
 * - `continuesFinal`: the prompt ends with the final assistant message's text, open for the model to
 *   go on (not so on a June 2025 build started with `--no-prefill-assistant`, which closes the turn).
 */
export interface TemplateFacts {
  thinking: boolean;
  rendersReasoning: boolean;
  continuesFinal: boolean;
}

const REASONING_MARK = 'prefillproxyreasoningprobe';
const CONTENT_MARK = 'prefillproxycontentprobe';
const MEMORY_KEY = 'llamacpp:template';

/** The template's facts as remembered (`facts` undefined: the server has no `/apply-template`); undefined when not known yet. */
export function knownTemplateFacts(context: ProviderCallContext): { facts: TemplateFacts | undefined } | undefined {
  return context.memory.get(MEMORY_KEY) as { facts: TemplateFacts | undefined } | undefined;
}

/** The template's facts, probed or remembered; undefined when the server has no `/apply-template`. */
export async function templateFacts(context: ProviderCallContext, openTag: string): Promise<TemplateFacts | undefined> {
  const known = knownTemplateFacts(context);
  if (known) return known.facts;
  const probe: JsonBody = {
    messages: [
      { role: 'user', content: '.' },
      { role: 'assistant', content: CONTENT_MARK, reasoning_content: REASONING_MARK },
    ],
    continue_final_message: true,
    add_generation_prompt: false,
  };
  let facts: TemplateFacts | undefined;
  try {
    const answer = await context.sideRequest('/apply-template', probe);
    const prompt = (answer.body as { prompt?: unknown } | undefined)?.prompt;
    if (answer.status === 200 && typeof prompt === 'string') {
      const content = prompt.lastIndexOf(CONTENT_MARK);
      const before = content === -1 ? prompt : prompt.slice(0, content);
      const lastTurn = before.slice(Math.max(0, before.lastIndexOf('.')));
      facts = {
        thinking: lastTurn.includes(openTag),
        rendersReasoning: prompt.includes(REASONING_MARK),
        continuesFinal: prompt.trimEnd().endsWith(CONTENT_MARK),
      };
    }
  } catch {
    facts = undefined;
  }
  // A server without the route (an old build, something else on the port) is remembered too.
  context.memory.set(MEMORY_KEY, { facts });
  return facts;
}
