import type { FastifyInstance } from 'fastify';
import { planChatCall, routeSettings } from '../chat/plan.js';
import { budgetOf } from '../chat/thinking-budget.js';
import { validateChatRequest } from '../chat/validate.js';
import type { AppContext } from '../context.js';
import { detectPrefill } from '../prefill/detect.js';
import { upstreamRequestHeaders } from '../upstream/headers.js';
import { modeFor, routeFor } from './chat-completions.js';

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'proxy-authorization']);

/**
 * POST /v1/prefill/preview: the body of a chat completion in; out, the prefill decision and the exact
 * request the proxy would send upstream (method, URL, headers with secrets redacted, body), without
 * calling the upstream. The proxy's counterpart of llama.cpp's /apply-template.
 */
export function registerPreview(app: FastifyInstance, context: AppContext): void {
  const handler = async (request: import('fastify').FastifyRequest) => {
    const clientChat = validateChatRequest(request.body);
    const { route, chat, renamed } = routeFor(context, clientChat);
    const { provider, spec } = route.target;
    const mode = modeFor(request, route);
    const prefill = detectPrefill(chat, mode);
    const plan = planChatCall(provider, routeSettings(route), chat, prefill, renamed ? undefined : (request.rawBody ?? Buffer.alloc(0)));
    const headers: Record<string, string> = {
      ...upstreamRequestHeaders(request.headers),
      'content-type': 'application/json',
      accept: chat.stream === true ? 'text/event-stream' : 'application/json',
      ...provider.authHeaders(spec.keyFromClient ? 'client-key' : spec.apiKey),
    };
    for (const name of Object.keys(headers)) if (SECRET_HEADERS.has(name)) headers[name] = '[redacted]';
    const body = Buffer.isBuffer(plan.body) ? JSON.parse(plan.body.toString('utf8')) : plan.body;
    const origin = spec.origin ?? 'mock:';
    return {
      model: clientChat.model ?? null,
      route: { upstream: spec.name, provider: provider.id, upstream_model: route.upstreamModel ?? null, entry: route.label },
      prefill: {
        mode,
        detected: prefill !== undefined,
        kind: plan.response.kind,
        trigger: prefill?.trigger ?? null,
        continues: prefill?.continues ?? null,
        prefix: prefill?.prefix ?? null,
        reasoning_prefix: prefill?.reasoning ?? null,
        native_form: plan.response.kind === 'native' ? provider.nativeForm : null,
        fallback: route.fallback,
        strips_repeated_text: plan.response.repeated?.text ?? null,
        splits_thinking_tags: plan.response.thinkingInContent ? [plan.response.thinkingInContent.tags.open, plan.response.thinkingInContent.tags.close] : null,
        echo: plan.response.echo,
        thinking_budget: budgetOf(clientChat, prefill, provider) ?? null,
        forwarded_untouched: Buffer.isBuffer(plan.body),
      },
      upstream_request: { method: 'POST', url: `${origin}${spec.basePath}${plan.path}`, headers, body },
    };
  };
  app.post('/v1/prefill/preview', handler);
  app.post('/prefill/preview', handler);
}
