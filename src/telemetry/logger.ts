import type { LoggerOptions } from 'pino';

/**
 * pino with every place a secret could sit redacted, even though the proxy never logs headers on
 * purpose: an error's cause (an undici request object, say) may carry them.
 */
export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'headers.authorization',
        'headers["x-api-key"]',
        'apiKey',
        'upstream.apiKey',
        'proxyApiKeys',
        'req.headers["x-amz-security-token"]',
        'headers["x-amz-security-token"]',
        'secretAccessKey',
        'sessionToken',
        'credentials.secretAccessKey',
        'credentials.sessionToken',
        'aws.credentials.secretAccessKey',
        'aws.credentials.sessionToken',
        'upstream.aws.credentials.secretAccessKey',
        'upstream.aws.credentials.sessionToken',
      ],
      censor: '[redacted]',
    },
  };
}
