import { proxyError } from '../errors.js';
import type { AwsCredentials } from './signed-upstream.js';

/** After the chain found no credentials, requests fail at once for this long instead of asking it again. */
const RETRY_AFTER_FAILURE_MS = 10_000;
/** The provider fetches new credentials this long before the current ones expire (its own margin is 5 min). */
const REFRESH_WINDOW_MS = 6 * 60_000;

/**
 * AWS's default credential chain, as the AWS SDKs use it when no keys are configured: a profile
 * (AWS_PROFILE, ~/.aws/config and credentials), SSO, a credential process, a web identity token
 * (EKS), the container's credentials (ECS) and the instance's (EC2 metadata). The library
 * (@aws-sdk/credential-provider-node) loads on first use; it caches what it finds and fetches new
 * credentials before they expire. Each new set goes to `onLoaded` (its secrets must be kept out of
 * everything relayed to clients). When the chain finds nothing, or takes longer than `timeoutMs` to
 * (the upstream's connect timeout: a credential process or a metadata endpoint that hangs), the
 * request gets a 502 `upstream_credentials_unavailable` saying why, and the chain is not asked again
 * for 10 s (its instance-metadata step may wait a second for a host that is not on EC2).
 */
export function defaultCredentialChain(onLoaded: (credentials: AwsCredentials) => void, timeoutMs: number, now: () => number = Date.now): () => Promise<AwsCredentials> {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  let current: AwsCredentials | undefined;
  let failure: { error: Error; until: number } | undefined;
  return async () => {
    if (failure && now() < failure.until) throw failure.error;
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider() as () => Promise<AwsCredentials>);
    try {
      const loading = (await provider)();
      // Cached credentials come back at once; only a load (the first, or a refresh) gets a timer.
      const loads = !current || (current.expiration !== undefined && current.expiration.getTime() - now() < REFRESH_WINDOW_MS);
      const credentials = loads ? await within(loading, timeoutMs) : await loading;
      failure = undefined;
      if (credentials !== current) {
        current = credentials;
        onLoaded(credentials);
      }
      return credentials;
    } catch (err) {
      const error = proxyError(
        'upstream_credentials_unavailable',
        `No AWS credentials to sign the request with: none configured (AWS_ACCESS_KEY_ID / aws_access_key_id), and AWS's default chain (profile, SSO, web identity, container, instance metadata) found none: ${(err as Error).message}`,
        { cause: err },
      );
      failure = { error, until: now() + RETRY_AFTER_FAILURE_MS };
      throw error;
    }
  };
}

/** The promise's value, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
