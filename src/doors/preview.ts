import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppContext } from '../pipeline/context.js';
import { prepare } from '../pipeline/prepare.js';
import { chatPipelineRequest } from './chat/route.js';

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'proxy-authorization', 'x-goog-api-key']);

/**
 * POST /v1/prefill/preview: the body of a chat completion in; out, the prefill decision and the exact
 * request the proxy would send upstream first (method, URL, headers with secrets redacted, body),
 * without calling the upstream. The proxy's counterpart of llama.cpp's /apply-template.
 */
export function registerPreview(app: FastifyInstance, context: AppContext): void {
  const handler = async (request: FastifyRequest) => {
    const prepared = prepare(context, chatPipelineRequest(request), undefined);
    const { route, prefill, first, mode, stage } = prepared;
    const { provider, spec } = route.target;
    const headers = { ...prepared.upstreamHeaders };
    for (const name of Object.keys(headers)) if (SECRET_HEADERS.has(name)) headers[name] = '[redacted]';
    const plan = first.plan;
    const body = Buffer.isBuffer(plan.body) ? JSON.parse(plan.body.toString('utf8')) : plan.body;
    return {
      model: prepared.request.chat.model ?? null,
      route: { upstream: spec.name, provider: provider.id, upstream_model: route.upstreamModel ?? null, entry: route.label },
      prefill: {
        mode,
        detected: prefill !== undefined,
        kind: plan.answer.kind,
        trigger: prefill?.trigger ?? null,
        continues: prefill?.continues ?? null,
        prefix: prefill?.prefix ?? null,
        reasoning_prefix: prefill?.reasoning ?? null,
        native_form: plan.answer.kind === 'native' ? provider.nativeForm : null,
        fallback: route.fallback,
        strips_repeated_text: plan.answer.repeated?.text ?? null,
        splits_thinking_tags: plan.answer.thinkingInContent ? [plan.answer.thinkingInContent.tags.open, plan.answer.thinkingInContent.tags.close] : null,
        echo: plan.answer.echo,
        thinking_budget: stage?.name.includes('thinking_budget') ? (prepared.request.options.thinkingBudget ?? null) : null,
        follow_up: stage?.name ?? null,
        forwarded_untouched: Buffer.isBuffer(plan.body),
      },
      upstream_request: { method: 'POST', url: `${spec.origin ?? 'mock:'}${spec.basePath}${plan.path}`, headers, body },
    };
  };
  app.post('/v1/prefill/preview', handler);
  app.post('/prefill/preview', handler);
}
