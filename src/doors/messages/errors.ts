/**
 * Errors in Anthropic's shape, `{"type": "error", "error": {"type", "message"}}`, with Anthropic's
 * error types (https://docs.anthropic.com/en/api/errors). The type follows the status, so a client
 * that switches on it sees what Anthropic would send; an upstream's own Anthropic type is kept where
 * the status alone does not say it (a mid-stream `overloaded_error`). The proxy's timeouts and
 * unreachable upstreams (502, 504) are `api_error`.
 */

const BY_STATUS: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** Types only Anthropic sends, kept when the status does not decide. */
const ANTHROPIC_TYPES = new Set(['overloaded_error', 'rate_limit_error', 'billing_error', 'permission_error', 'api_error']);

export function anthropicErrorType(status: number, type: string): string {
  const byStatus = BY_STATUS[status];
  if (byStatus) return byStatus;
  if (ANTHROPIC_TYPES.has(type)) return type;
  return status < 500 ? 'invalid_request_error' : 'api_error';
}

export function anthropicErrorBody(error: { status: number; type: string; message: string }): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(error.status, error.type), message: error.message } };
}
