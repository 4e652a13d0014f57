/**
 * The one session-store test suite, run against every store and variant (`store-cookie.test.ts`,
 * `store-redis.test.ts`, `store-redis-no-client-cache.test.ts`, `store-redis-cluster.test.ts`), the way
 * oauth2-proxy runs one suite against each of its session stores. Every scenario is something a user
 * sees, over real HTTP: a real oidc-provider (refresh-token rotation on), a recording upstream and a real
 * gateway. Where the stores differ on purpose (a copied stateless cookie outlives a sign-out), the `shared`
 * flag says which behaviour is asserted.
 *
 * Timing: nothing waits for real time. The gateway runs on a test clock which the scenarios move on to
 * the moments they test (a token due, the back-off over, a timeout passed), computed from the sealed
 * session's own `expiresAt`/`createdAt`/`lastSeenAt`; the provider and its tokens keep real time.
 */
import { describe } from 'node:test';
import type { SessionStoreSetup } from './helpers.js';
import { describeLifetime } from './lifetime.js';
import { describeRefreshFailures } from './refresh-failures.js';
import { describeRefresh } from './refresh.js';
import { describeSignIn } from './sign-in.js';
import { describeSignOut } from './sign-out.js';

export type { SessionStoreSetup } from './helpers.js';

/** The suite: one describe per behaviour, each with its own provider, upstream and gateway. */
export function describeSessionStore(name: string, setup: SessionStoreSetup): void {
  describe(`session store: ${name}`, () => {
    describeSignIn(setup);
    describeRefresh(setup);
    describeRefreshFailures(setup);
    describeLifetime(setup);
    describeSignOut(setup);
  });
}
