/**
 * The login transaction: what the callback must check (state, nonce, PKCE verifier) and where to go after
 * (rd). Each login gets its own short-lived sealed cookie named after its state, so several tabs can sign
 * in at once; the callback clears it, so it is single-use. Also the same-origin rule for `rd`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieNames } from './cookie-names.js';
import type { SealBox } from './seal.js';
import type { CallbackChecks } from '../oidc/provider.js';
import type { StepUpAsk } from '../policy/step-up.js';

/** How long a login may take at the provider before its transaction expires. */
export const TRANSACTION_TTL_SECONDS = 600;
/** Open login transactions one browser may hold; starting one more drops the oldest. */
export const MAX_OPEN_TRANSACTIONS = 5;

/** Random bytes in each of state, nonce and PKCE verifier (RFC 7636 §7.1 asks for 32 in the verifier). */
const SECRET_BYTES = 32;

/** One login in progress. */
export interface LoginTransaction extends CallbackChecks {
  rd: string;
  /**
   * The provider this login went to: only its answer is accepted at the callback (mix-up defence). Absent
   * in a login begun before several providers: the primary one's.
   */
  provider?: string;
  createdAt: number;
  /** A step-up login: what it asked the provider for, which the callback checks the answer against. */
  stepUp?: StepUpAsk;
}

/** A cookie to set or clear, as the routes hand it to reply.setCookie. */
export interface CookieWrite {
  name: string;
  value: string;
  options: { path: string; httpOnly: true; sameSite: 'lax'; secure: boolean; maxAge: number };
}

/** Creates the transaction cookies' reader and writer. */
export function createTransactions(names: CookieNames, box: SealBox) {
  // Path=/ (not /oauth2/callback) so every login start sees the browser's open transactions and can cap
  // them; the gateway strips its own cookies before anything goes upstream.
  const base = { path: '/', httpOnly: true, sameSite: 'lax', secure: names.secure } as const;
  const cookieName = (state: string) =>
    names.transactionPrefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);

  return {
    /** Starts a login: fresh state, nonce and verifier; the cookie to set; stale cookies to clear. */
    begin(rd: string, provider: string, existing: ReadonlyMap<string, string>, stepUp?: StepUpAsk): { transaction: LoginTransaction; writes: CookieWrite[] } {
      // 32 random bytes each, base64url (43 characters), as openid-client's randomState, randomNonce and
      // randomPKCECodeVerifier make them, from one call: theirs go through WebCrypto and a JS base64 encoder.
      const random = randomBytes(3 * SECRET_BYTES);
      const transaction: LoginTransaction = {
        state: random.toString('base64url', 0, SECRET_BYTES),
        nonce: random.toString('base64url', SECRET_BYTES, 2 * SECRET_BYTES),
        codeVerifier: random.toString('base64url', 2 * SECRET_BYTES),
        rd,
        provider,
        createdAt: Date.now(),
        ...(stepUp === undefined ? {} : { stepUp }),
      };
      const writes: CookieWrite[] = [
        { name: cookieName(transaction.state), value: box.seal(transaction), options: { ...base, maxAge: TRANSACTION_TTL_SECONDS } },
      ];
      const open = [...existing.keys()].filter((n) => n.startsWith(names.transactionPrefix));
      // Cookies arrive oldest first in practice; drop the surplus so one browser holds a bounded number.
      for (const name of open.slice(0, Math.max(0, open.length - (MAX_OPEN_TRANSACTIONS - 1)))) {
        writes.push({ name, value: '', options: { ...base, maxAge: 0 } });
      }
      return { transaction, writes };
    },

    /**
     * Finds and opens the transaction for a callback's state. Returns the cookie to clear either way (a
     * transaction is used once) and the transaction when it exists, decrypts, and matches the state.
     */
    finish(state: string, cookies: ReadonlyMap<string, string>): { transaction: LoginTransaction | null; clear: CookieWrite } {
      const name = cookieName(state);
      const clear: CookieWrite = { name, value: '', options: { ...base, maxAge: 0 } };
      const sealed = cookies.get(name);
      const opened = sealed === undefined ? null : box.open(sealed);
      const data = opened?.data as Partial<LoginTransaction> | undefined;
      if (
        !data ||
        typeof data.state !== 'string' ||
        typeof data.nonce !== 'string' ||
        typeof data.codeVerifier !== 'string' ||
        typeof data.rd !== 'string' ||
        (data.provider !== undefined && typeof data.provider !== 'string') ||
        (data.stepUp !== undefined && (typeof data.stepUp !== 'object' || data.stepUp === null)) ||
        !sameText(data.state, state)
      ) {
        return { transaction: null, clear };
      }
      return { transaction: data as LoginTransaction, clear };
    },
  };
}

/** The transaction reader and writer. */
export type Transactions = ReturnType<typeof createTransactions>;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Returns a safe post-login target: a path on the gateway's own origin (path, query, fragment), or "/".
 * Accepts a relative path or an absolute URL on publicUrl's origin; refuses scheme-relative (`//evil`),
 * backslash tricks (`/\evil`), control characters and anything on another origin.
 */
export function safeRedirectTarget(rd: unknown, publicUrl: string): string {
  if (typeof rd !== 'string' || rd === '' || rd.length > 2048) return '/';
  // Browsers treat "\" as "/" and drop tabs and newlines, so such input could turn into another origin.
  if (rd.includes('\\') || [...rd].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return '/';
  const origin = new URL(publicUrl).origin;
  let target: URL;
  try {
    target = new URL(rd, origin + '/');
  } catch {
    return '/';
  }
  // Comparing parsed origins normalises case, default ports and userinfo tricks ("app.example.com@evil").
  if (target.origin !== origin) return '/';
  const path = target.pathname + target.search + target.hash;
  return path.startsWith('//') ? '/' : path;
}
