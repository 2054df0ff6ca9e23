/**
 * Records real llama.cpp answers, byte for byte, as test fixtures:
 *
 *   npx tsx scripts/record-llama-fixtures.ts
 *
 * For each build (b5640, de3ff81) it starts llama-server with the stories260K model, once with
 * `--chat-template chatml` and once with the thinking template, sends the fixed list of requests
 * below (greedy: temperature 0, top_k 1, seed 42), and writes into
 * `test/fixtures/llamacpp/real/<build>/`:
 *
 *   <case>.request.json   the exact request body sent (POST <route>)
 *   <case>.json | .sse    the answer body as received (ids, `created` and `timings` vary per run)
 *   index.json            per case: route, template, status, content-type, files, and the ground
 *                         truth (de3ff81 /apply-template prompt + /completion on this build)
 *
 * Needs the binaries (LLAMA_SERVER_DIR, default ../shared/llama).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  completionFinishReason,
  GREEDY,
  groundTruth,
  llamaBinaries,
  postRaw,
  REPO_ROOT,
  startLlamaServers,
  type ChatMessage,
  type LlamaServer,
  type LlamaTemplate,
} from '../test/helpers/llama-servers.js';

const BUILDS = ['b5640', 'de3ff81'] as const;
const OUT = path.join(REPO_ROOT, 'test', 'fixtures', 'llamacpp', 'real');

const U: ChatMessage = { role: 'user', content: 'Tell me a story.' };
const A: ChatMessage = { role: 'assistant', content: 'Once upon a time' };
const R = 'The user wants a story about a cat.';
const CFM = { continue_final_message: true, add_generation_prompt: false } as const;

interface Case {
  name: string;
  template: LlamaTemplate;
  route?: string;
  body: Record<string, unknown>;
  /** Messages whose ground truth is recorded alongside (the definition). */
  truthOf?: ChatMessage[];
  note: string;
}

const chat = (messages: ChatMessage[], extra: Record<string, unknown> = {}, maxTokens = 24) => ({
  messages,
  max_tokens: maxTokens,
  ...GREEDY,
  ...extra,
});

/** A case as a whole answer, a stream, and a stream with usage. */
function three(c: Case): Case[] {
  return [
    c,
    { ...c, name: `${c.name}.stream`, body: { ...c.body, stream: true } },
    { ...c, name: `${c.name}.stream-usage`, body: { ...c.body, stream: true, stream_options: { include_usage: true } } },
  ];
}

const RA: ChatMessage = { role: 'assistant', content: '', reasoning_content: R };
const RC: ChatMessage = { role: 'assistant', content: 'Once upon a time', reasoning_content: R };
const CLOSED: ChatMessage = { role: 'assistant', content: '', reasoning_content: `${R}\n</think>\n\n` };
const CLOSED_AS_CONTENT: ChatMessage = { role: 'assistant', content: `${R}\n</think>\n\n` };

const CASES: Case[] = [
  ...three({ name: 'no-prefill', template: 'chatml', body: chat([U]), truthOf: [U], note: 'plain request, no prefill' }),
  ...three({
    name: 'content-prefill',
    template: 'chatml',
    body: chat([U, A]),
    truthOf: [U, A],
    note: 'bare trailing assistant message (what a client sends)',
  }),
  ...three({
    name: 'content-prefill-cfm',
    template: 'chatml',
    body: chat([U, A], CFM),
    truthOf: [U, A],
    note: 'trailing assistant + continue_final_message:true + add_generation_prompt:false (what the proxy sends)',
  }),
  ...three({
    name: 'think-content-prefill-cfm',
    template: 'think',
    body: chat([U, A], CFM),
    truthOf: [U, A],
    note: 'content prefill on the thinking template (b5640 puts the continuation in reasoning_content)',
  }),
  ...three({
    name: 'reasoning-prefill',
    template: 'think',
    body: chat([U, RA]),
    truthOf: [U, RA],
    note: 'reasoning prefill: content "" + reasoning_content, no flags (b5640 ignores reasoning_content)',
  }),
  ...three({
    name: 'reasoning-prefill-cfm',
    template: 'think',
    body: chat([U, RA], CFM),
    truthOf: [U, RA],
    note: 'reasoning prefill with continue_final_message:true + add_generation_prompt:false',
  }),
  {
    name: 'reasoning-prefill-cfm-string',
    template: 'think',
    body: chat([U, RA], { continue_final_message: 'reasoning_content', add_generation_prompt: false }),
    truthOf: [U, RA],
    note: 'continue_final_message:"reasoning_content" (a string): accepted by both, same as true',
  },
  ...three({
    name: 'reasoning-and-content-cfm',
    template: 'think',
    body: chat([U, RC], CFM),
    truthOf: [U, RC],
    note: 'reasoning_content + non-empty content: thinking closed, the answer continued',
  }),
  ...three({
    name: 'thinking-length',
    template: 'think',
    body: chat([U], {}, 8),
    truthOf: [U],
    note: 'no prefill, thinking cut by max_tokens 8 (finish_reason length, text in reasoning_content)',
  }),
  ...three({
    name: 'thinking-closed-in-reasoning-cfm',
    template: 'think',
    body: chat([U, CLOSED], CFM),
    note: 'thinking-budget follow-up: reasoning_content = R + "\\n</think>\\n\\n", content "" (de3ff81: the answer comes in content)',
  }),
  ...three({
    name: 'thinking-closed-in-content-cfm',
    template: 'think',
    body: chat([U, CLOSED_AS_CONTENT], CFM),
    note: 'thinking-budget follow-up: content = R + "\\n</think>\\n\\n" (right prompt on b5640, answer comes as reasoning_content)',
  }),
  {
    name: 'thinking-closed-raw-completion',
    template: 'think',
    route: '/completion',
    body: {
      prompt: `<|im_start|>user\nTell me a story.<|im_end|>\n<|im_start|>assistant\n<think>\n${R}\n</think>\n\n`,
      n_predict: 24,
      ...GREEDY,
      cache_prompt: false,
    },
    note: 'thinking-budget follow-up through the raw route: /completion of the generation prompt + closed thinking',
  },
  {
    name: 'content-prefill-parts-cfm',
    template: 'chatml',
    body: chat([U, { role: 'assistant', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] }], CFM),
    note: 'content given as text parts (b5640 drops them, de3ff81 joins them with a blank line)',
  },
  {
    name: 'error-two-trailing-assistants',
    template: 'chatml',
    body: chat([U, { role: 'assistant', content: 'Once upon' }, { role: 'assistant', content: ' a time' }]),
    note: 'two assistant messages at the end (b5640: 500, de3ff81: 400)',
  },
  {
    name: 'error-cfm-without-agp',
    template: 'chatml',
    body: chat([U, A], { continue_final_message: true }),
    note: 'continue_final_message without add_generation_prompt:false (de3ff81: 400; b5640: 200)',
  },
  {
    name: 'error-assistant-without-content',
    template: 'chatml',
    body: chat([U, { role: 'assistant' }]),
    note: 'final assistant message with neither content nor tool_calls (b5640: 500, de3ff81: 400)',
  },
];

async function main(): Promise<void> {
  const bins = llamaBinaries();
  for (const b of BUILDS) if (!bins.builds[b]) throw new Error(`llama-server-${b} not found in ${bins.dir}`);
  const servers = await startLlamaServers(BUILDS.flatMap((build) => (['chatml', 'think'] as const).map((template) => ({ build, template }))));
  const get = (build: string, template: LlamaTemplate): LlamaServer => servers.find((s) => s.build === build && s.template === template)!;
  try {
    for (const build of BUILDS) {
      const dir = path.join(OUT, build);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const index: Record<string, unknown> = {};
      for (const c of CASES) {
        const server = get(build, c.template);
        const route = c.route ?? '/v1/chat/completions';
        const requestText = `${JSON.stringify(c.body, null, 2)}\n`;
        writeFileSync(path.join(dir, `${c.name}.request.json`), requestText);
        const r = await postRaw(server.url, route, JSON.stringify(c.body));
        const contentType = r.headers['content-type'] ?? '';
        const ext = contentType.includes('text/event-stream') ? 'sse' : 'json';
        writeFileSync(path.join(dir, `${c.name}.${ext}`), r.text);
        const entry: Record<string, unknown> = {
          note: c.note,
          route,
          template: c.template,
          status: r.status,
          contentType,
          request: `${c.name}.request.json`,
          response: `${c.name}.${ext}`,
        };
        if (c.truthOf) {
          const maxTokens = Number(c.body.max_tokens);
          const t = await groundTruth({ templateUrl: get('de3ff81', c.template).url, completionUrl: server.url, messages: c.truthOf, n_predict: maxTokens });
          entry.groundTruth = { prompt: t.prompt, continuation: t.continuation, finish_reason: completionFinishReason(t.answer) };
        }
        index[c.name] = entry;
        console.log(`${build} ${c.name}: HTTP ${r.status} ${ext} (${r.text.length} bytes)`);
      }
      const meta = {
        build,
        binary: `llama-server-${build}`,
        recorded: new Date().toISOString(),
        command: 'npx tsx scripts/record-llama-fixtures.ts',
        servers: Object.fromEntries(
          (['chatml', 'think'] as const).map((t) => {
            const s = get(build, t);
            // the port is chosen per run
            return [t, `llama-server-${build} ${s.args.join(' ').replace(REPO_ROOT + path.sep, '').replace(REPO_ROOT + path.sep, '')}`];
          }),
        ),
        cases: index,
      };
      writeFileSync(path.join(dir, 'index.json'), `${JSON.stringify(meta, null, 2)}\n`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
