import { bedrockBaseUrl, bedrockRegionOf } from '../providers/bedrock/endpoint.js';
import type { AwsSigning } from './types.js';

/** AWS settings as given: the config file's `aws_*` keys of one upstream, or the standard AWS variables. */
export interface AwsInput {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

/** The standard AWS environment variables (empty values count as unset). */
export function awsFromEnv(env: NodeJS.ProcessEnv): AwsInput {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  return {
    region: read('AWS_REGION') ?? read('AWS_DEFAULT_REGION'),
    accessKeyId: read('AWS_ACCESS_KEY_ID'),
    secretAccessKey: read('AWS_SECRET_ACCESS_KEY'),
    sessionToken: read('AWS_SESSION_TOKEN'),
  };
}

export type BedrockSettings = { url: URL; aws: AwsSigning } | { problem: string };

/**
 * A Bedrock upstream's URL and signing. The region: the upstream's own `aws_region`, else the one its
 * URL's host names (`bedrock-runtime.{region}.amazonaws.com`), else AWS_REGION. The URL, when none is
 * given: the region's endpoint. Credentials: the upstream's own keys, else the AWS variables, else
 * AWS's default chain (a profile, SSO, web identity, the container's or the instance's role), as the
 * AWS SDKs do; requests are signed with them (SigV4) unless a Bedrock API key is sent instead
 * (`hasKey`: an api_key / UPSTREAM_API_KEY, or each client's own key).
 */
export function bedrockSettings(url: URL | undefined, own: AwsInput, ambient: AwsInput, hasKey: boolean, where: { url: string; keys: string }): BedrockSettings {
  const region = blank(own.region) ?? (url ? bedrockRegionOf(url.hostname) : undefined) ?? ambient.region;
  if (!url && !region) {
    return { problem: `${where.url}: required for Bedrock unless the region is given (AWS_REGION${where.keys === 'AWS_*' ? '' : ` or ${where.keys}.aws_region`}): the URL is then https://bedrock-runtime.{region}.amazonaws.com` };
  }
  const target = url ?? new URL(bedrockBaseUrl(region!));
  const ownKeys = blank(own.accessKeyId) !== undefined || blank(own.secretAccessKey) !== undefined;
  const source = ownKeys ? own : ambient;
  const accessKeyId = blank(source.accessKeyId);
  const secretAccessKey = blank(source.secretAccessKey);
  const names = ownKeys ? `${where.keys}.aws_access_key_id and ${where.keys}.aws_secret_access_key` : 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) return { problem: `${names}: both are needed to sign requests to Bedrock` };
  if (hasKey && !ownKeys) return { url: target, aws: { service: 'bedrock', region, credentials: undefined } };
  if (!region) return { problem: `${where.url}: the AWS region to sign for is unknown: set AWS_REGION${where.keys === 'AWS_*' ? '' : ` or ${where.keys}.aws_region`}` };
  // No keys and no API key: AWS's default chain, asked when a request is signed (a missing role is then a 502 saying so).
  if (accessKeyId === undefined || secretAccessKey === undefined) return { url: target, aws: { service: 'bedrock', region, credentials: 'default-chain' } };
  const sessionToken = blank(source.sessionToken);
  return { url: target, aws: { service: 'bedrock', region, credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } };
}

function blank(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
