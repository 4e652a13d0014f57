/**
 * The test provider's revocation endpoint (RFC 7009) made to fail on demand: 'http-503' answers 503 with an
 * OAuth error body, 'hang' holds each request unanswered until the mode changes (then it is handled as
 * usual), as a provider that stopped answering would.
 */
import type { TokenRequestRecord } from './idp-types.js';

/** The parts of oidc-provider's (Koa) request context this hook answers with. */
interface Answerable {
  status: number;
  type: string;
  body: unknown;
}

/** Control of the revocation endpoint's failures. */
export interface IdpRevocationControl {
  /** Sets how the endpoint fails until called with null (held requests then go on to the provider). */
  fail(mode: 'http-503' | 'hang' | null): void;
  /** Resolves once a request is held by 'hang' (at once if one is held now). */
  whenHeld(): Promise<void>;
  /** Resolves with the record of the next revocation request once it is answered (see clientRequests). */
  nextRecord(): Promise<TokenRequestRecord>;
}

/** The hook idp.ts runs before the revocation endpoint, and its control. */
export function revocationFailures(): {
  control: IdpRevocationControl;
  answered(ctx: Answerable): Promise<boolean>;
  recorded(record: TokenRequestRecord): void;
} {
  let mode: 'http-503' | 'hang' | null = null;
  const held: Array<() => void> = [];
  const waiting: Array<() => void> = [];
  const recordWaiters: Array<(record: TokenRequestRecord) => void> = [];
  const release = () => held.splice(0).forEach((go) => go());
  return {
    control: {
      fail(next) {
        mode = next;
        if (next !== 'hang') release();
      },
      whenHeld: () => (held.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
      nextRecord: () => new Promise<TokenRequestRecord>((resolve) => recordWaiters.push(resolve)),
    },
    recorded(record) {
      recordWaiters.splice(0).forEach((resolve) => resolve(record));
    },
    /** True when the request was answered here (503); false when the provider should handle it. */
    async answered(ctx) {
      if (mode === 'hang') {
        await new Promise<void>((go) => {
          held.push(go);
          waiting.splice(0).forEach((resolve) => resolve());
        });
      }
      if (mode !== 'http-503') return false;
      ctx.status = 503;
      ctx.type = 'application/json';
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the test made the revocation endpoint fail' };
      return true;
    },
  };
}
