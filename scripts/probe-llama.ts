/**
 * Probes the real llama.cpp builds (b5640, de3ff81) with the requests the proxy cares about and
 * prints, per case and build, the request body, the status and an abbreviated answer, plus the
 * ground truth (de3ff81 `/apply-template` + `/completion` on the build under test) where one exists.
 *
 *   npx tsx scripts/probe-llama.ts [> report.md]
 *   npx tsx scripts/probe-llama.ts --only 3     # the cases whose id starts with "3"
 *
 * Needs the binaries (LLAMA_SERVER_DIR, default ../shared/llama). The facts this found are written
 * up in the llama-facts notes; this script is kept so they can be checked again on new builds.
 */
import {
  applyTemplate,
  completionDetails,
  GREEDY,
  groundTruth,
  httpRaw,
  postRaw,
  startLlamaServers,
  type ChatMessage,
  type LlamaServer,
  type LlamaTemplate,
} from '../test/helpers/llama-servers.js';

const BUILDS = ['b5640', 'de3ff81'] as const;
type Build = (typeof BUILDS)[number];

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

const U: ChatMessage = { role: 'user', content: 'Tell me a story.' };
const A: ChatMessage = { role: 'assistant', content: 'Once upon a time' };
const R = 'The user wants a story about a cat.';
const CFM = { continue_final_message: true, add_generation_prompt: false };

interface Case {
  id: string;
  template: LlamaTemplate;
  route?: string;
  method?: 'GET' | 'POST';
  body?: Record<string, unknown>;
  /** Compare with the ground truth; the prefix the answer may echo (content or reasoning). */
  gt?: { messages: ChatMessage[]; prefix?: string; reasoningPrefix?: string };
  note?: string;
}

const chatBody = (messages: ChatMessage[], extra: Record<string, unknown> = {}, maxTokens = 24) => ({
  messages,
  max_tokens: maxTokens,
  ...GREEDY,
  ...extra,
});

const streamVariants = (id: string, c: Omit<Case, 'id'>): Case[] => [
  { ...c, id: `${id} nostream` },
  { ...c, id: `${id} stream`, body: { ...c.body, stream: true } },
  { ...c, id: `${id} stream+usage`, body: { ...c.body, stream: true, stream_options: { include_usage: true } } },
];

function cases(): Case[] {
  const list: Case[] = [];
  // 1, 2: content prefill, chatml and think templates
  for (const template of ['chatml', 'think'] as const) {
    const n = template === 'chatml' ? '1' : '2';
    const gt = { messages: [U, A], prefix: 'Once upon a time' };
    list.push(...streamVariants(`${n}a ${template} content prefill plain`, { template, body: chatBody([U, A]), gt }));
    list.push(...streamVariants(`${n}b ${template} content prefill cfm+agp:false`, { template, body: chatBody([U, A], CFM), gt }));
    list.push({ id: `${n}c ${template} cfm:true alone`, template, body: chatBody([U, A], { continue_final_message: true }), gt });
    list.push({ id: `${n}d ${template} agp:false alone`, template, body: chatBody([U, A], { add_generation_prompt: false }), gt });
    list.push({ id: `${n}e ${template} apply-template [U,A]`, template, route: '/apply-template', body: { messages: [U, A] } });
    list.push({ id: `${n}f ${template} apply-template [U,A] cfm`, template, route: '/apply-template', body: { messages: [U, A], ...CFM } });
  }
  // 3: reasoning prefill
  const RA: ChatMessage = { role: 'assistant', content: '', reasoning_content: R };
  const gtR = { messages: [U, RA], reasoningPrefix: R };
  list.push({ id: '3.0 apply-template reasoning prefill', template: 'think', route: '/apply-template', body: { messages: [U, RA] } });
  list.push({ id: '3.0 apply-template reasoning prefill cfm', template: 'think', route: '/apply-template', body: { messages: [U, RA], ...CFM } });
  list.push({
    id: '3.0 apply-template reasoning prefill cfm=reasoning_content',
    template: 'think',
    route: '/apply-template',
    body: { messages: [U, RA], continue_final_message: 'reasoning_content', add_generation_prompt: false },
  });
  list.push(...streamVariants('3a reasoning prefill plain', { template: 'think', body: chatBody([U, RA]), gt: gtR }));
  list.push(...streamVariants('3b reasoning prefill cfm+agp:false', { template: 'think', body: chatBody([U, RA], CFM), gt: gtR }));
  list.push(
    ...streamVariants('3c reasoning prefill cfm="reasoning_content"+agp:false', {
      template: 'think',
      body: chatBody([U, RA], { continue_final_message: 'reasoning_content', add_generation_prompt: false }),
      gt: gtR,
    }),
  );
  list.push({ id: '3d reasoning prefill cfm="reasoning_content" alone', template: 'think', body: chatBody([U, RA], { continue_final_message: 'reasoning_content' }), gt: gtR });
  const RC: ChatMessage = { role: 'assistant', content: 'Once upon a time', reasoning_content: R };
  list.push({ id: '3e.0 apply-template reasoning+content', template: 'think', route: '/apply-template', body: { messages: [U, RC] } });
  list.push({ id: '3e.0 apply-template reasoning+content cfm', template: 'think', route: '/apply-template', body: { messages: [U, RC], ...CFM } });
  list.push(...streamVariants('3e reasoning+content plain', { template: 'think', body: chatBody([U, RC]), gt: { messages: [U, RC], prefix: 'Once upon a time' } }));
  list.push(...streamVariants('3f reasoning+content cfm+agp:false', { template: 'think', body: chatBody([U, RC], CFM), gt: { messages: [U, RC], prefix: 'Once upon a time' } }));
  list.push({ id: '3g reasoning prefill, content null', template: 'think', body: chatBody([U, { role: 'assistant', content: null, reasoning_content: R }], CFM) });
  list.push({ id: '3h reasoning prefill, no content key', template: 'think', body: chatBody([U, { role: 'assistant', reasoning_content: R }], CFM) });
  list.push({ id: '3i b5640 reasoning_format:none per request, content prefill', template: 'think', body: chatBody([U, A], { reasoning_format: 'none' }, 8) });
  list.push({ id: '3j chat_template_kwargs enable_thinking:false, content prefill', template: 'think', body: chatBody([U, A], { chat_template_kwargs: { enable_thinking: false } }, 8) });
  // 4: thinking cut by max_tokens, then the follow-ups a thinking budget needs
  list.push(...streamVariants('4.0 thinking, no prefill, max_tokens 8', { template: 'think', body: chatBody([U], {}, 8), gt: { messages: [U] } }));
  // (the follow-ups use the reasoning each build produced; filled in at run time, see runThinkingFollowUps)
  // 5: odd message lists
  const two = [U, { role: 'assistant', content: 'Once upon' }, { role: 'assistant', content: ' a time' }];
  list.push({ id: '5a two trailing assistants', template: 'chatml', body: chatBody(two) });
  list.push({ id: '5a two trailing assistants cfm', template: 'chatml', body: chatBody(two, CFM) });
  list.push({ id: '5a two trailing assistants apply-template', template: 'chatml', route: '/apply-template', body: { messages: two } });
  list.push({ id: '5b final assistant empty content', template: 'chatml', body: chatBody([U, { role: 'assistant', content: '' }]) });
  list.push({ id: '5b final assistant empty content cfm', template: 'chatml', body: chatBody([U, { role: 'assistant', content: '' }], CFM) });
  list.push({ id: '5b final assistant content null', template: 'chatml', body: chatBody([U, { role: 'assistant', content: null }]) });
  list.push({ id: '5b final assistant no content key', template: 'chatml', body: chatBody([U, { role: 'assistant' }]) });
  list.push({ id: '5b think: final assistant empty content', template: 'think', body: chatBody([U, { role: 'assistant', content: '' }]) });
  list.push({ id: '5b apply-template final assistant empty content', template: 'chatml', route: '/apply-template', body: { messages: [U, { role: 'assistant', content: '' }] } });
  list.push({ id: '5b think apply-template final assistant empty content', template: 'think', route: '/apply-template', body: { messages: [U, { role: 'assistant', content: '' }] } });
  list.push({ id: '5a two trailing assistants apply-template cfm', template: 'chatml', route: '/apply-template', body: { messages: two, ...CFM } });
  list.push({ id: '5a [U, A, assistant ""] apply-template cfm', template: 'chatml', route: '/apply-template', body: { messages: [U, A, { role: 'assistant', content: '' }], ...CFM } });
  const parts = [
    U,
    { role: 'assistant', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] },
  ];
  list.push({ id: '5c content parts apply-template', template: 'chatml', route: '/apply-template', body: { messages: parts } });
  list.push({ id: '5c content parts (user) apply-template', template: 'chatml', route: '/apply-template', body: { messages: [{ role: 'user', content: [{ type: 'text', text: 'Tell me' }, { type: 'text', text: ' a story.' }] }] } });
  list.push({ id: '5c content parts chat cfm', template: 'chatml', body: chatBody(parts, CFM), gt: { messages: parts, prefix: 'Once upon a time' } });
  list.push({
    id: '5c content parts in history apply-template',
    template: 'chatml',
    route: '/apply-template',
    body: { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }] }, { role: 'user', content: [{ type: 'text', text: 'C' }, { type: 'text', text: 'D' }] }] },
  });
  list.push({ id: '5c single content part, final assistant, apply-template', template: 'chatml', route: '/apply-template', body: { messages: [U, { role: 'assistant', content: [{ type: 'text', text: 'Once upon a time' }] }] } });
  list.push({ id: '5c content parts think apply-template', template: 'think', route: '/apply-template', body: { messages: parts } });
  // 6: a new turn after a trailing assistant message
  list.push({ id: '6a agp:true', template: 'chatml', body: chatBody([U, A], { add_generation_prompt: true }) });
  list.push({ id: '6b cfm:false', template: 'chatml', body: chatBody([U, A], { continue_final_message: false }) });
  list.push({ id: '6c agp:true cfm:false', template: 'chatml', body: chatBody([U, A], { add_generation_prompt: true, continue_final_message: false }) });
  list.push({ id: '6c apply-template agp:true cfm:false', template: 'chatml', route: '/apply-template', body: { messages: [U, A], add_generation_prompt: true, continue_final_message: false } });
  list.push({ id: '6d prefix:false on the message', template: 'chatml', body: chatBody([U, { ...A, prefix: false }]) });
  list.push({ id: '6e trailing empty user message', template: 'chatml', route: '/apply-template', body: { messages: [U, A, { role: 'user', content: '' }] } });
  // 7: errors, routes
  list.push({ id: '7a 400: messages not an array', template: 'chatml', body: { messages: 'hi' } });
  list.push({ id: '7a 400: invalid JSON', template: 'chatml', body: '{"messages": [' as unknown as Record<string, unknown> });
  list.push({ id: '7b unknown route GET', template: 'chatml', route: '/nope', method: 'GET' });
  list.push({ id: '7b unknown route POST', template: 'chatml', route: '/v1/nope', body: {} });
  list.push({ id: '7c GET /v1/models', template: 'chatml', route: '/v1/models', method: 'GET' });
  list.push({ id: '7c GET /models', template: 'chatml', route: '/models', method: 'GET' });
  list.push({ id: '7c GET /props', template: 'chatml', route: '/props', method: 'GET' });
  list.push({ id: '7d /tokenize', template: 'chatml', route: '/tokenize', body: { content: 'Once upon a time' } });
  list.push({ id: '7d /tokenize add_special', template: 'chatml', route: '/tokenize', body: { content: 'Once upon a time', add_special: true, with_pieces: true } });
  list.push({ id: '7d /detokenize', template: 'chatml', route: '/detokenize', body: { tokens: [403, 407, 261, 378] } });
  list.push({
    id: '7e /v1/messages',
    template: 'chatml',
    route: '/v1/messages',
    body: { model: 'x', max_tokens: 8, temperature: 0, messages: [{ role: 'user', content: 'Tell me a story.' }, { role: 'assistant', content: 'Once upon a time' }] },
  });
  list.push({
    id: '7e /v1/messages stream',
    template: 'chatml',
    route: '/v1/messages',
    body: { model: 'x', max_tokens: 4, temperature: 0, stream: true, messages: [{ role: 'user', content: 'Tell me a story.' }] },
  });
  list.push({ id: '7e /v1/messages/count_tokens', template: 'chatml', route: '/v1/messages/count_tokens', body: { model: 'x', messages: [{ role: 'user', content: 'Tell me a story.' }] } });
  list.push({ id: '7e /v1/responses', template: 'chatml', route: '/v1/responses', body: { model: 'x', max_output_tokens: 8, temperature: 0, input: 'Tell me a story.' } });
  list.push({ id: '7e /v1/completions', template: 'chatml', route: '/v1/completions', body: { prompt: 'Once upon a time', max_tokens: 6, temperature: 0 } });
  // 8: determinism and parameters
  list.push({ id: '8a n_predict instead of max_tokens', template: 'chatml', body: { messages: [U, A], n_predict: 6, ...GREEDY } });
  list.push({ id: '8b max_completion_tokens', template: 'chatml', body: { messages: [U, A], max_completion_tokens: 6, ...GREEDY } });
  list.push({ id: '8c temperature 0 without seed/top_k', template: 'chatml', body: { messages: [U, A], max_tokens: 24, temperature: 0 }, gt: { messages: [U, A], prefix: 'Once upon a time' } });
  list.push({ id: '8d model field ignored', template: 'chatml', body: { model: 'no-such-model', ...chatBody([U, A], {}, 6) } });
  list.push({ id: '8e native thinking budget thinking_budget_tokens:4', template: 'think', body: chatBody([U], { thinking_budget_tokens: 4 }, 24) });
  list.push({ id: '8e native thinking budget reasoning_budget_tokens:4', template: 'think', body: chatBody([U], { reasoning_budget_tokens: 4 }, 24) });
  list.push({ id: '8f chat_template_kwargs enable_thinking:false, no prefill', template: 'think', body: chatBody([U], { chat_template_kwargs: { enable_thinking: false } }, 12) });
  list.push({ id: '8g reasoning_format none', template: 'think', body: chatBody([U], { reasoning_format: 'none' }, 12) });
  return list;
}

// ---------------------------------------------------------------------------------------------

function short(s: unknown, n = 120): string {
  const t = JSON.stringify(s);
  return t.length > n ? `${t.slice(0, n)}…"` : t;
}

interface Parsed {
  summary: string;
  content: string;
  reasoning: string;
  finish: string | null;
  firstContentDelta?: string;
}

function summariseJson(text: string): Parsed {
  const j = JSON.parse(text) as Record<string, unknown>;
  const choice = (j.choices as Array<Record<string, unknown>> | undefined)?.[0];
  const msg = (choice?.message ?? {}) as Record<string, unknown>;
  const keys = Object.keys(j).join(',');
  const content = typeof msg.content === 'string' ? msg.content : '';
  const reasoning = typeof msg.reasoning_content === 'string' ? msg.reasoning_content : '';
  const parts = [
    `finish_reason=${JSON.stringify(choice?.finish_reason)}`,
    `message keys=${Object.keys(msg).join(',')}`,
    `content=${short(msg.content)}`,
  ];
  if ('reasoning_content' in msg) parts.push(`reasoning_content=${short(msg.reasoning_content)}`);
  parts.push(`usage=${JSON.stringify(j.usage)}`, `top-level keys=${keys}`, `model=${JSON.stringify(j.model)}`);
  return { summary: parts.join('\n    '), content, reasoning, finish: (choice?.finish_reason as string) ?? null };
}

function summariseSse(text: string): Parsed {
  const events = text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '');
  const out: string[] = [];
  let content = '';
  let reasoning = '';
  let finish: string | null = null;
  let firstContentDelta: string | undefined;
  for (const ev of events) {
    const lines = ev.split(/\r?\n/);
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    const other = lines.filter((l) => !l.startsWith('data:'));
    if (other.length) out.push(`(non-data lines: ${short(other.join('|'))})`);
    if (data === '[DONE]') {
      out.push('[DONE]');
      continue;
    }
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(data) as Record<string, unknown>;
    } catch {
      out.push(`(unparsed ${short(data)})`);
      continue;
    }
    if (j.error) {
      out.push(`error ${JSON.stringify(j.error)}`);
      continue;
    }
    const choices = j.choices as Array<Record<string, unknown>> | undefined;
    if (!choices) {
      out.push(`{${Object.keys(j).join(',')}} ${short(j, 200)}`);
      continue;
    }
    const bits: string[] = [];
    if (choices.length === 0) bits.push('choices:[]');
    for (const c of choices) {
      const d = (c.delta ?? {}) as Record<string, unknown>;
      if ('role' in d) bits.push(`role=${d.role}`);
      if ('content' in d) {
        bits.push(`c:${JSON.stringify(d.content)}`);
        if (typeof d.content === 'string') {
          if (firstContentDelta === undefined && d.content !== '') firstContentDelta = d.content;
          content += d.content;
        }
      }
      if ('reasoning_content' in d) {
        bits.push(`r:${JSON.stringify(d.reasoning_content)}`);
        if (typeof d.reasoning_content === 'string') reasoning += d.reasoning_content;
      }
      if (c.finish_reason) {
        bits.push(`finish=${c.finish_reason}`);
        finish = c.finish_reason as string;
      }
    }
    if (j.usage) bits.push(`usage=${JSON.stringify(j.usage)}`);
    if (j.timings) bits.push('+timings');
    const line = bits.join(' ');
    // runs of plain deltas of one kind are shown on one line
    const plain = /^(c|r):("(?:[^"\\]|\\.)*")$/.exec(line);
    const prev = out[out.length - 1];
    if (plain && prev?.startsWith(`${plain[1]}: `)) out[out.length - 1] = `${prev} ${plain[2]}`;
    else if (plain) out.push(`${plain[1]}: ${plain[2]}`);
    else out.push(line);
  }
  const framing = text.includes('\r\n') ? 'CRLF' : 'LF';
  const summary =
    `${events.length} events (${framing}; ends with ${JSON.stringify(text.slice(-8))})\n    ` +
    out.join('\n    ') +
    `\n    => content=${short(content)}${reasoning ? ` reasoning=${short(reasoning)}` : ''}`;
  return { summary, content, reasoning, finish, firstContentDelta };
}

async function send(server: LlamaServer, c: Case): Promise<{ status: number; text: string; headers: Record<string, string> }> {
  const route = c.route ?? '/v1/chat/completions';
  if (c.method === 'GET') return httpRaw(server.url, route, 'GET');
  return postRaw(server.url, route, c.body ?? {});
}

function stripPrefix(text: string, prefix: string | undefined): { rest: string; echoed: boolean } {
  if (prefix && text.startsWith(prefix)) return { rest: text.slice(prefix.length), echoed: true };
  return { rest: text, echoed: false };
}

async function main(): Promise<void> {
  const servers = await startLlamaServers(
    BUILDS.flatMap((build) => (['chatml', 'think'] as const).map((template) => ({ build, template }))),
  );
  const get = (build: Build, template: LlamaTemplate) => servers.find((s) => s.build === build && s.template === template)!;
  const out: string[] = [];
  const log = (s = '') => {
    out.push(s);
    console.log(s);
  };
  try {
    log(`# llama.cpp probe, ${new Date().toISOString()}`);
    for (const s of servers) log(`- ${s.build} ${s.template}: llama-server-${s.build} ${s.args.join(' ')}`);
    for (const c of cases()) {
      if (only && !c.id.startsWith(only)) continue;
      log(`\n## ${c.id}`);
      log(`${c.method ?? 'POST'} ${c.route ?? '/v1/chat/completions'} ${c.body ? JSON.stringify(c.body) : ''}`);
      for (const build of BUILDS) {
        const server = get(build, c.template);
        const r = await send(server, c);
        const ct = r.headers['content-type'] ?? '';
        let parsed: Parsed | undefined;
        let line = `- **${build}**: HTTP ${r.status} (${ct})`;
        try {
          if (ct.includes('event-stream')) parsed = summariseSse(r.text);
          else if (r.status === 200 && (c.route ?? '/v1/chat/completions') === '/v1/chat/completions') parsed = summariseJson(r.text);
        } catch {
          parsed = undefined;
        }
        if (parsed) line += `\n    ${parsed.summary}`;
        else line += `\n    ${r.text.length > 1500 ? `${r.text.slice(0, 1500)}…` : r.text}`;
        if (parsed?.firstContentDelta !== undefined) line += `\n    first non-empty content delta: ${JSON.stringify(parsed.firstContentDelta)}`;
        if (c.gt && parsed && r.status === 200) {
          const maxTokens = Number(c.body?.max_tokens ?? 24);
          const gt = await groundTruth({
            templateUrl: get('de3ff81', c.template).url,
            completionUrl: server.url,
            messages: c.gt.messages,
            n_predict: maxTokens,
          });
          const gtFinish = gt.answer.stop_type === 'limit' ? 'length' : 'stop';
          let got: string;
          let echo = '';
          if (c.gt.reasoningPrefix !== undefined) {
            const s = stripPrefix(parsed.reasoning, c.gt.reasoningPrefix);
            echo = s.echoed ? 'reasoning prefix echoed' : 'reasoning prefix not echoed';
            // the raw text the model generated: reasoning continuation (+ closing tag + content if any)
            got = s.rest;
            if (parsed.content) got += `\n</think>\n\n${parsed.content}`;
          } else if (c.template === 'think' && c.gt.prefix === undefined) {
            got = parsed.reasoning + (parsed.content ? `\n</think>\n\n${parsed.content}` : '');
          } else {
            // content prefill: compare the content; a build that files it under reasoning_content (b5640
            // with the thinking template) is compared on that text and flagged
            const text = parsed.content || parsed.reasoning;
            const s = stripPrefix(text, c.gt.prefix);
            echo = `${s.echoed ? 'prefix echoed' : 'prefix not echoed'}${parsed.content ? '' : parsed.reasoning ? '; the continuation came as reasoning_content' : ''}`;
            if (parsed.content && parsed.reasoning) echo += `; reasoning_content=${short(parsed.reasoning, 60)}`;
            got = s.rest;
          }
          const same = got === gt.continuation;
          line += `\n    ground truth: prompt=${JSON.stringify(gt.prompt)}\n      continuation=${short(gt.continuation)} finish=${gtFinish}`;
          line += `\n    ${echo ? `${echo}; ` : ''}answer ${same ? '==' : '!='} ground truth${same ? '' : ` (answer minus prefix: ${short(got)})`}; finish ${parsed.finish === gtFinish ? '==' : '!='}`;
        }
        log(line);
      }
    }
    if (!only || only.startsWith('4')) await thinkingFollowUps(get, log);
    if (!only || only.startsWith('8')) await determinism(get, log);
    if (!only || only.startsWith('6')) await noPrefillAssistant(log);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Item 4: after thinking was cut by max_tokens, which request makes each build write the answer? */
async function thinkingFollowUps(get: (b: Build, t: LlamaTemplate) => LlamaServer, log: (s?: string) => void): Promise<void> {
  log('\n## 4.x thinking follow-ups (R = the reasoning the build produced with max_tokens 8)');
  for (const build of BUILDS) {
    const server = get(build, 'think');
    const first = await postRaw(server.url, '/v1/chat/completions', chatBody([U], {}, 8));
    const j = JSON.parse(first.text) as { choices: Array<{ message: { reasoning_content?: string; content?: string } }> };
    const msg = j.choices[0]!.message;
    const Rb = msg.reasoning_content ?? msg.content ?? '';
    log(`\n### ${build}: R = ${JSON.stringify(Rb)} (content=${JSON.stringify(msg.content)})`);
    const closed = `<think>\n${Rb}\n</think>\n\n`;
    const forms: Array<[string, Record<string, unknown>]> = [
      ['(a) {content:"", reasoning_content:R} plain', chatBody([U, { role: 'assistant', content: '', reasoning_content: Rb }])],
      ['(a) {content:"", reasoning_content:R} cfm+agp:false', chatBody([U, { role: 'assistant', content: '', reasoning_content: Rb }], CFM)],
      ['(b) {content:"<think>\\nR\\n</think>\\n\\n"} plain', chatBody([U, { role: 'assistant', content: closed }])],
      ['(b) {content:"<think>\\nR\\n</think>\\n\\n"} cfm+agp:false', chatBody([U, { role: 'assistant', content: closed }], CFM)],
      ['(b2) {content:"R\\n</think>\\n\\n"} cfm+agp:false', chatBody([U, { role: 'assistant', content: `${Rb}\n</think>\n\n` }], CFM)],
      ['(c) {content:" ", reasoning_content:R} cfm+agp:false', chatBody([U, { role: 'assistant', content: ' ', reasoning_content: Rb }], CFM)],
      ['(c) {content:"Once", reasoning_content:R} cfm+agp:false', chatBody([U, { role: 'assistant', content: 'Once', reasoning_content: Rb }], CFM)],
      ['(c) {content:"Once", reasoning_content:R} plain', chatBody([U, { role: 'assistant', content: 'Once', reasoning_content: Rb }])],
      [
        '(d) {content:"", reasoning_content:R} cfm+agp:false + chat_template_kwargs.enable_thinking:false',
        chatBody([U, { role: 'assistant', content: '', reasoning_content: Rb }], { ...CFM, chat_template_kwargs: { enable_thinking: false } }),
      ],
      [
        '(d) {content:"<think>\\nR\\n</think>\\n\\n"} cfm+agp:false + enable_thinking:false',
        chatBody([U, { role: 'assistant', content: closed }], { ...CFM, chat_template_kwargs: { enable_thinking: false } }),
      ],
      [
        '(d) {content:"R\\n</think>\\n\\n"} cfm+agp:false + enable_thinking:false',
        chatBody([U, { role: 'assistant', content: `${Rb}\n</think>\n\n` }], { ...CFM, chat_template_kwargs: { enable_thinking: false } }),
      ],
      ['(f) {content:"", reasoning_content:R+"\\n</think>\\n\\n"} plain', chatBody([U, { role: 'assistant', content: '', reasoning_content: `${Rb}\n</think>\n\n` }])],
      ['(f) {content:"", reasoning_content:R+"\\n</think>\\n\\n"} cfm+agp:false', chatBody([U, { role: 'assistant', content: '', reasoning_content: `${Rb}\n</think>\n\n` }], CFM)],
      ['(d) {content:"", reasoning_content:R} + reasoning_format:none cfm', chatBody([U, { role: 'assistant', content: '', reasoning_content: Rb }], { ...CFM, reasoning_format: 'none' })],
    ];
    for (const [name, body] of forms) {
      for (const stream of [false, true]) {
        const r = await postRaw(server.url, '/v1/chat/completions', stream ? { ...body, stream: true } : body);
        let s: string;
        if (r.status !== 200) s = `HTTP ${r.status} ${r.text.slice(0, 300)}`;
        else {
          const p = stream ? summariseSse(r.text) : summariseJson(r.text);
          s = `HTTP 200 finish=${p.finish} content=${short(p.content, 100)} reasoning=${short(p.reasoning, 140)}`;
        }
        log(`- ${name}${stream ? ' [stream]' : ''}: ${s}`);
      }
      if (name.startsWith('(')) {
        const t = await postRaw(server.url, '/apply-template', { messages: body.messages, ...(body.continue_final_message !== undefined ? CFM : {}), ...(body.chat_template_kwargs ? { chat_template_kwargs: body.chat_template_kwargs } : {}) });
        log(`    apply-template: ${t.status} ${t.text.slice(0, 400)}`);
      }
    }
    // (e) the raw route
    const gen = await applyTemplate(get('de3ff81', 'think').url, [U], { add_generation_prompt: true });
    const prompt = `${gen}${Rb}\n</think>\n\n`;
    const c = await completionDetails(server.url, prompt, { n_predict: 24 });
    log(`- (e) raw: /completion of ${JSON.stringify(prompt)} → ${short(c.content, 160)} stop_type=${c.stop_type}`);
    const gen2 = await applyTemplate(server.url, [U], { add_generation_prompt: true });
    log(`    (own build's generation prompt: ${JSON.stringify(gen2)})`);
  }
}

/** Item 6: servers started with --no-prefill-assistant. */
async function noPrefillAssistant(log: (s?: string) => void): Promise<void> {
  log('\n## 6.x servers started with --no-prefill-assistant (chatml)');
  const extra = await startLlamaServers(BUILDS.map((build) => ({ build, template: 'chatml' as const, extraArgs: ['--no-prefill-assistant'] })));
  try {
    for (const server of extra) {
      for (const [name, route, body] of [
        ['apply-template [U,A]', '/apply-template', { messages: [U, A] }],
        ['apply-template [U,A] cfm+agp:false', '/apply-template', { messages: [U, A], ...CFM }],
        ['chat [U,A]', '/v1/chat/completions', chatBody([U, A], {}, 12)],
        ['chat [U,A] cfm+agp:false', '/v1/chat/completions', chatBody([U, A], CFM, 12)],
      ] as const) {
        const r = await postRaw(server.url, route, body);
        let text = r.text;
        if (r.status === 200 && route === '/v1/chat/completions') {
          const p = summariseJson(r.text);
          text = `finish=${p.finish} content=${short(p.content)}`;
        }
        log(`- ${server.build} ${name}: HTTP ${r.status} ${text.slice(0, 300)}`);
      }
    }
  } finally {
    await Promise.all(extra.map((s) => s.stop()));
  }
}

/** Item 8: repeatability across runs, stream/non-stream, slots and prompt cache. */
async function determinism(get: (b: Build, t: LlamaTemplate) => LlamaServer, log: (s?: string) => void): Promise<void> {
  log('\n## 8.x determinism');
  for (const build of BUILDS) {
    for (const template of ['chatml', 'think'] as const) {
      const server = get(build, template);
      const seen = new Map<string, number>();
      const bodies: Array<Record<string, unknown>> = [
        chatBody([U, A], CFM, 32),
        { ...chatBody([U, A], CFM, 32), stream: true },
        { ...chatBody([U, A], CFM, 32), seed: 7 },
        { ...chatBody([U, A], CFM, 32), cache_prompt: false },
        { messages: [U, A], ...CFM, max_tokens: 32, temperature: 0 },
      ];
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          bodies.map(async (b) => {
            const r = await postRaw(server.url, '/v1/chat/completions', b);
            const p = b.stream ? summariseSse(r.text) : summariseJson(r.text);
            const key = `${p.reasoning}|${stripPrefix(p.content, 'Once upon a time').rest}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          }),
        );
      }
      log(`- ${build} ${template}: ${seen.size} distinct answers over ${3 * bodies.length} requests (echoed prefix removed; 5 bodies sent in parallel 3 times: plain, stream, seed 7, cache_prompt false, no top_k/seed): ${[...seen.entries()].map(([k, n]) => `${n}× ${short(k, 80)}`).join(' / ')}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
