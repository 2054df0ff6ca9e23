/**
 * An upstream address that refuses connections, for tests of an unreachable upstream. Not a port just
 * freed by a test: test files run in parallel, and an ephemeral port given back is soon handed to
 * another file's server (a flake seen in CI: a "refused" upstream that accepted and never answered).
 * Port 1 is below the ephemeral range, so no test server can get it, and nothing listens there.
 */
export const REFUSING_UPSTREAM = 'http://127.0.0.1:1';
