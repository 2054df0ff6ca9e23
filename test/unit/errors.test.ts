import { describe, expect, it } from 'vitest';
import { upstreamHttpError, upstreamTransportError } from '../../src/errors.js';

describe('upstreamHttpError keeps the status and message of every error shape', () => {
  it('OpenAI / llama.cpp nested error', () => {
    const error = upstreamHttpError(400, '{"error":{"code":400,"message":"Cannot have 2 or more assistant messages at the end of the list.","type":"invalid_request_error"}}');
    expect(error.status).toBe(400);
    expect(error.toJSON()).toEqual({
      error: { message: 'Cannot have 2 or more assistant messages at the end of the list.', type: 'invalid_request_error', param: null, code: '400' },
    });
  });
  it('vLLM top-level error object', () => {
    const error = upstreamHttpError(404, '{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}');
    expect(error.status).toBe(404);
    expect(error.message).toBe('The model `x` does not exist.');
  });
  it('FastAPI detail, a bare string error, plain text, an empty body', () => {
    expect(upstreamHttpError(422, '{"detail":[{"loc":["body"],"msg":"field required"}]}').message).toContain('field required');
    expect(upstreamHttpError(401, '{"error":"Unauthorized"}').message).toBe('Unauthorized');
    expect(upstreamHttpError(503, 'Service Unavailable').message).toBe('Service Unavailable');
    expect(upstreamHttpError(500, '').message).toBe('The upstream answered with HTTP 500.');
  });
  it("AWS (Bedrock): the exception's name from x-amzn-errortype is the code; a code in the body wins; retry-after is kept", () => {
    const throttled = upstreamHttpError(429, '{"message":"Too many requests, please wait before trying again."}', {
      'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
      'retry-after': '2',
    });
    expect(throttled.toJSON().error).toMatchObject({ code: 'ThrottlingException', message: 'Too many requests, please wait before trying again.' });
    expect(throttled.headers).toEqual({ 'retry-after': '2' });
    expect(upstreamHttpError(400, '{"error":{"code":"bad_thing","message":"m"}}', { 'x-amzn-errortype': 'ValidationException' }).code).toBe('bad_thing');
    expect(upstreamHttpError(400, '{"message":"m"}', { 'x-amzn-errortype': 'not a name!' }).code).toBeNull();
  });
});

describe('upstreamTransportError', () => {
  it('maps refused connections to 502 and timeouts to 504, looking through causes', () => {
    expect(upstreamTransportError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).status).toBe(502);
    expect(upstreamTransportError(new Error('fetch failed', { cause: Object.assign(new Error('dns'), { code: 'ENOTFOUND' }) })).status).toBe(502);
    expect(upstreamTransportError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })).status).toBe(504);
    expect(upstreamTransportError(Object.assign(new Error('x'), { code: 'UND_ERR_CONNECT_TIMEOUT' })).status).toBe(504);
    expect(upstreamTransportError(new Error('mystery')).status).toBe(502);
  });
});
