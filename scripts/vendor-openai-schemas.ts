/**
 * Vendors the OpenAI component schemas the proxy's answers must satisfy into ONE JSON Schema
 * (draft 2020-12) document for the test suite (test/helpers/openai-schema.ts compiles it with Ajv).
 *
 *   npx tsx scripts/vendor-openai-schemas.ts <path-to-openapi.yaml> <commit> [--commit-date YYYY-MM-DD] [--license FILE] [--out DIR]
 *
 * <path-to-openapi.yaml> is the spec of github.com/openai/openai-openapi at <commit> (e.g.
 * `git show <commit>:openapi.yaml > /tmp/openapi.yaml`); --license defaults to the LICENSE beside
 * it (`git show <commit>:LICENSE`), --out to test/schemas/openai. Writes
 * openai-<info.version>.schemas.json, README.md and LICENSE there.
 *
 * What the extraction does, and nothing more (the README repeats it):
 * - keeps the ROOTS below and every component schema they reach through `$ref`, transitively;
 * - rewrites `#/components/schemas/X` to `#/$defs/X`; `$recursiveRef: "#"` (2019-09, used by
 *   CompoundFilter) becomes a `$ref` to its enclosing component; `$recursiveAnchor` is dropped;
 * - OpenAPI 3.0 leftovers become JSON Schema 2020-12: `nullable: true` allows null (`type` gains
 *   "null", an `enum` gains null, a schema with `$ref`/combinators is wrapped in
 *   `anyOf: [schema, {type: "null"}]`); boolean `exclusiveMinimum/Maximum` take the number of
 *   `minimum/maximum`; `example: v` becomes `examples: [v]`;
 * - drops every `x-*` key (x-oaiMeta, x-stainless-const, ...) and `dataDescription`, except that
 *   a component's `x-oaiMeta.example`, when it parses as JSON, is kept as `examples: [value]`.
 * `discriminator` (an OpenAPI annotation that changes no validation) is kept; `required`,
 * `additionalProperties`, `enum`, `format` etc. are kept exactly as the spec has them.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

/** Component schemas the tests validate against (everything they reference comes along). */
const ROOTS = [
  // Chat Completions
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  // Errors
  'ErrorResponse',
  'Error',
  // Responses API
  'CreateResponse',
  'Response',
  'ResponseStreamEvent',
  'ResponseCreatedEvent',
  'ResponseInProgressEvent',
  'ResponseQueuedEvent',
  'ResponseOutputItemAddedEvent',
  'ResponseContentPartAddedEvent',
  'ResponseTextDeltaEvent',
  'ResponseTextDoneEvent',
  'ResponseRefusalDeltaEvent',
  'ResponseRefusalDoneEvent',
  'ResponseContentPartDoneEvent',
  'ResponseOutputItemDoneEvent',
  'ResponseFunctionCallArgumentsDeltaEvent',
  'ResponseFunctionCallArgumentsDoneEvent',
  'ResponseReasoningSummaryPartAddedEvent',
  'ResponseReasoningSummaryPartDoneEvent',
  'ResponseReasoningSummaryTextDeltaEvent',
  'ResponseReasoningSummaryTextDoneEvent',
  'ResponseReasoningTextDeltaEvent',
  'ResponseReasoningTextDoneEvent',
  'ResponseCompletedEvent',
  'ResponseFailedEvent',
  'ResponseIncompleteEvent',
  'ResponseErrorEvent',
  'OutputItem',
  'OutputMessage',
  'OutputTextContent',
  'ReasoningItem',
  'FunctionToolCall',
  // Models
  'ListModelsResponse',
  'Model',
];

const COMPONENT_REF = '#/components/schemas/';
const DEFS_REF = '#/$defs/';
/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions']);
/** Keywords whose value is one schema. */
const SCHEMA_ONE = new Set([
  'additionalProperties', 'items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames',
  'unevaluatedProperties', 'unevaluatedItems', 'additionalItems',
]);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
/** Non-JSON-Schema keywords dropped besides x-* (their content is documentation only). */
const DROP = new Set(['dataDescription', 'xml', 'externalDocs', '$recursiveAnchor']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function refName(ref: string): string {
  if (!ref.startsWith(COMPONENT_REF)) throw new Error(`unsupported $ref ${ref} (only ${COMPONENT_REF}* is handled)`);
  const name = decodeURIComponent(ref.slice(COMPONENT_REF.length).split('/')[0]!).replace(/~1/g, '/').replace(/~0/g, '~');
  return name;
}

/** Every component name a schema references (directly). */
function collectRefs(node: Json, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const v of node) collectRefs(v, out);
  } else if (isObj(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(refName(v));
      else if (k === 'enum' || k === 'const' || k === 'default' || k === 'example' || k === 'examples' || k.startsWith('x-')) continue;
      else collectRefs(v, out);
    }
  }
}

/** Converts one (sub)schema to JSON Schema 2020-12 as described in the header. */
function convert(node: Json, component: string): Json {
  if (typeof node === 'boolean') return node;
  if (!isObj(node)) throw new Error(`${component}: schema expected, got ${JSON.stringify(node)?.slice(0, 80)}`);
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('x-') || DROP.has(k) || k === 'nullable') continue;
    if (k === '$ref') {
      out.$ref = DEFS_REF + (v as string).slice(COMPONENT_REF.length);
    } else if (k === '$recursiveRef') {
      if (v !== '#') throw new Error(`${component}: unsupported $recursiveRef ${String(v)}`);
      out.$ref = DEFS_REF + component;
    } else if (k === 'example') {
      out.examples = [...((out.examples as Json[] | undefined) ?? []), v];
    } else if (k === 'examples') {
      // OpenAPI 3.1 allows a JSON Schema `examples` array; an OpenAPI map of Example Objects is not one
      out.examples = [...((out.examples as Json[] | undefined) ?? []), ...(Array.isArray(v) ? v : Object.values(v as Obj))];
    } else if (SCHEMA_MAPS.has(k)) {
      out[k] = Object.fromEntries(Object.entries(v as Obj).map(([name, s]) => [name, convert(s, component)]));
    } else if (SCHEMA_LISTS.has(k)) {
      out[k] = (v as Json[]).map((s) => convert(s, component));
    } else if (SCHEMA_ONE.has(k)) {
      // OpenAPI 3.0 never has tuple `items`, but be safe
      out[k] = Array.isArray(v) ? v.map((s) => convert(s, component)) : convert(v, component);
    } else {
      out[k] = v;
    }
  }
  // 3.0-style boolean exclusive bounds
  for (const [ex, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof out[ex] === 'boolean') {
      if (out[ex] === true) {
        if (typeof out[bound] !== 'number') throw new Error(`${component}: ${ex}: true without ${bound}`);
        out[ex] = out[bound];
        delete out[bound];
      } else {
        delete out[ex];
      }
    }
  }
  if (node.nullable === true) return allowNull(out);
  return out;
}

const COMBINATORS = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'const', 'if'];
const ANNOTATIONS = ['title', 'description', 'deprecated', 'default', 'examples', 'readOnly', 'writeOnly'];

/** `nullable: true` semantics of OpenAPI 3.0: null is valid in addition to what the schema allows. */
function allowNull(schema: Obj): Obj {
  const { type } = schema;
  if (typeof type === 'string' && !COMBINATORS.some((k) => k in schema)) {
    const out: Obj = { ...schema, type: type === 'null' ? 'null' : [type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  if (Array.isArray(type) && !COMBINATORS.some((k) => k in schema)) {
    const out: Obj = { ...schema, type: type.includes('null') ? type : [...type, 'null'] };
    if (Array.isArray(schema.enum) && !schema.enum.includes(null)) out.enum = [...schema.enum, null];
    return out;
  }
  // keep the annotations outside, wrap the constraints
  const outer: Obj = {};
  const inner: Obj = {};
  for (const [k, v] of Object.entries(schema)) (ANNOTATIONS.includes(k) ? outer : inner)[k] = v;
  return { ...outer, anyOf: [inner, { type: 'null' }] };
}

function exampleOf(meta: Json): Json | undefined {
  if (!isObj(meta) || typeof meta.example !== 'string') return undefined;
  try {
    return JSON.parse(meta.example) as Json;
  } catch {
    return undefined;
  }
}

function main(): void {
  const args = process.argv.slice(2);
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) flags[a.slice(2)] = args[++i] ?? '';
    else positional.push(a);
  }
  const [specPath, commit] = positional;
  if (!specPath || !commit || !/^[0-9a-f]{40}$/.test(commit)) {
    process.stderr.write('usage: npx tsx scripts/vendor-openai-schemas.ts <path-to-openapi.yaml> <40-hex commit> [--commit-date YYYY-MM-DD] [--license FILE] [--out DIR]\n');
    process.exit(2);
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const outDir = resolve(flags.out ?? join(root, 'test/schemas/openai'));
  const licensePath = resolve(flags.license ?? join(dirname(specPath), 'LICENSE'));
  if (!existsSync(licensePath)) {
    throw new Error(`no licence at ${licensePath}: pass --license (git show ${commit}:LICENSE > FILE)`);
  }

  const spec = parse(readFileSync(specPath, 'utf8'), { maxAliasCount: -1 }) as Obj;
  const info = spec.info as Obj;
  const version = String(info.version);
  const openapi = String(spec.openapi);
  const all = (spec.components as Obj).schemas as Obj;

  const missing = ROOTS.filter((n) => !(n in all));
  if (missing.length) throw new Error(`spec ${version} lacks ${missing.join(', ')}`);

  // transitive closure over $ref
  const keep = new Set<string>();
  const queue = [...ROOTS];
  while (queue.length) {
    const name = queue.pop()!;
    if (keep.has(name)) continue;
    if (!(name in all)) throw new Error(`dangling $ref to ${name}`);
    keep.add(name);
    const refs = new Set<string>();
    collectRefs(all[name]!, refs);
    queue.push(...refs);
  }

  const defs: Obj = {};
  for (const name of [...keep].sort()) {
    const original = all[name] as Obj;
    const converted = convert(original, name) as Obj;
    const example = exampleOf(original['x-oaiMeta'] ?? null);
    if (example !== undefined) converted.examples = [...((converted.examples as Json[] | undefined) ?? []), example];
    defs[name] = converted;
  }

  const fileName = `openai-${version}.schemas.json`;
  const source = `https://github.com/openai/openai-openapi/blob/${commit}/openapi.yaml`;
  const doc: Obj = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://schemas.prefill-proxy.invalid/openai/${fileName}`,
    title: `OpenAI API ${version}: component schemas vendored for prefill-proxy tests`,
    $comment: `Extracted by scripts/vendor-openai-schemas.ts from ${source} (OpenAPI ${openapi}, info.version ${version}); MIT licence, see LICENSE beside this file. Do not edit by hand.`,
    $defs: defs,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, fileName), `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(join(outDir, 'LICENSE'), readFileSync(licensePath, 'utf8'));

  const today = new Date().toISOString().slice(0, 10);
  const rel = (p: string) => relative(root, p) || '.';
  const readme = `# OpenAI API schemas (vendored)

\`${fileName}\` holds the component schemas of OpenAI's published OpenAPI specification that the
proxy's answers are tested against (\`test/helpers/openai-schema.ts\` compiles it with Ajv).

| | |
| --- | --- |
| Source repository | https://github.com/openai/openai-openapi |
| Path | \`openapi.yaml\` |
| Commit | \`${commit}\`${flags['commit-date'] ? ` (committed ${flags['commit-date']})` : ''} |
| Spec version | \`info.version\` ${version} (\`openapi: ${openapi}\`) |
| Extracted on | ${today} |
| Licence | MIT, Copyright (c) OpenAI: see [LICENSE](LICENSE) (copied from the same commit) |
| Schemas | ${keep.size} (the roots below and every schema they reference) |

Roots: ${ROOTS.map((n) => `\`${n}\``).join(', ')}.

## What was changed

The file is a JSON Schema 2020-12 document; the components sit under \`$defs\`
(\`#/components/schemas/X\` was rewritten to \`#/$defs/X\`). Besides that, only OpenAPI-isms were
translated, so that a JSON Schema validator reads the spec as OpenAPI means it:

- \`nullable: true\` (OpenAPI 3.0 style, still used in parts of the spec) allows \`null\`: the
  \`type\` gains \`"null"\` (and an \`enum\` gains \`null\`), or the schema is wrapped in
  \`anyOf: [schema, {"type": "null"}]\` when it has a \`$ref\` or combinators;
- \`exclusiveMinimum: true\`/\`exclusiveMaximum: true\` (3.0 style) take the \`minimum\`/\`maximum\` value;
- \`$recursiveRef: "#"\` (in \`CompoundFilter\`) became a \`$ref\` to that component, \`$recursiveAnchor\` was dropped;
- \`example: v\` became \`examples: [v]\`; a component's \`x-oaiMeta.example\` (OpenAI's documented
  example object), when it is JSON, was kept as \`examples: [value]\` on that component;
- every \`x-*\` key (\`x-oaiMeta\`, \`x-stainless-const\`, ...) and \`dataDescription\` were dropped.

\`required\`, \`additionalProperties\`, \`enum\`, \`format\`, \`discriminator\` (an annotation) and all
other keywords are as the spec has them: nothing was made stricter or looser. Note that OpenAI's
own examples do not always satisfy the spec's schemas (e.g. \`response.output_text.delta\`
examples without the required \`logprobs\`); the tests fix such examples up explicitly.

## Regenerate

\`\`\`sh
git clone https://github.com/openai/openai-openapi /tmp/openai-openapi   # or any checkout
git -C /tmp/openai-openapi show ${commit}:openapi.yaml > /tmp/openapi.yaml
git -C /tmp/openai-openapi show ${commit}:LICENSE > /tmp/LICENSE
npx tsx scripts/vendor-openai-schemas.ts /tmp/openapi.yaml ${commit}${flags['commit-date'] ? ` --commit-date ${flags['commit-date']}` : ''}
npx vitest run test/unit/openai-schema.test.ts
\`\`\`

To move to a newer spec, use a newer commit (the output file is named after \`info.version\`;
update \`test/helpers/openai-schema.ts\` if that changes) and add roots to \`ROOTS\` in the script.
Output directory: \`${rel(outDir)}\`.
`;
  writeFileSync(join(outDir, 'README.md'), readme);
  process.stdout.write(`wrote ${rel(join(outDir, fileName))} (${keep.size} schemas), README.md, LICENSE\n`);
}

main();
