/**
 * Bedrock Runtime's endpoints: `https://bedrock-runtime.{region}.amazonaws.com` (FIPS:
 * `bedrock-runtime-fips.{region}…`; China: `….amazonaws.com.cn`; a VPC endpoint:
 * `vpce-….bedrock-runtime.{region}.vpce.amazonaws.com`). The region in the host is the one requests must
 * be signed for.
 */

export const BEDROCK_HOST = /(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/** The region a Bedrock Runtime host names, if it is one. */
export function bedrockRegionOf(hostname: string): string | undefined {
  return BEDROCK_HOST.exec(hostname.toLowerCase())?.[1];
}

/** The default endpoint of a region. */
export function bedrockBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;
}
