/**
 * Access policy: pure functions from (route auth mode, allow rule, identity) to a decision with a named
 * reason. The reason decides the answer (401 for unauthenticated, 403 for the rest) and labels logs and
 * metrics; it never reaches a response body beyond its short code.
 */
import type { AllowRule } from '../config/schema.js';
import type { Identity } from '../identity.js';

/** Why a request was let through. */
export type AllowReason = 'public' | 'anonymous-optional' | 'allowed';
/** Why a request was refused. */
export type DenyReason = 'unauthenticated' | 'email-not-listed' | 'email-domain' | 'not-in-group' | 'claim-mismatch';

/** The outcome of evaluating a route's policy for one request. */
export type Decision = { allow: true; reason: AllowReason } | { allow: false; reason: DenyReason };

/** One frozen decision per reason: evaluating a policy allocates nothing. */
const DECISION = {
  public: Object.freeze({ allow: true, reason: 'public' }),
  'anonymous-optional': Object.freeze({ allow: true, reason: 'anonymous-optional' }),
  allowed: Object.freeze({ allow: true, reason: 'allowed' }),
  unauthenticated: Object.freeze({ allow: false, reason: 'unauthenticated' }),
  'email-not-listed': Object.freeze({ allow: false, reason: 'email-not-listed' }),
  'email-domain': Object.freeze({ allow: false, reason: 'email-domain' }),
  'not-in-group': Object.freeze({ allow: false, reason: 'not-in-group' }),
  'claim-mismatch': Object.freeze({ allow: false, reason: 'claim-mismatch' }),
} as const satisfies Record<AllowReason | DenyReason, Decision>;

/** Evaluates an upstream's policy; every given list in `allow` must pass. */
export function evaluatePolicy(auth: 'required' | 'optional' | 'public', allow: AllowRule, identity: Identity | undefined): Decision {
  if (auth === 'public') return DECISION['public'];
  if (!identity) return auth === 'optional' ? DECISION['anonymous-optional'] : DECISION['unauthenticated'];
  if (allow.emails.length > 0) {
    const email = identity.email?.toLowerCase();
    if (email === undefined || !allow.emails.some((e) => e.toLowerCase() === email)) return DECISION['email-not-listed'];
  }
  if (allow.emailDomains.length > 0) {
    const domain = emailDomain(identity.email);
    if (domain === undefined || !allow.emailDomains.some((d) => d.toLowerCase() === domain)) return DECISION['email-domain'];
  }
  if (allow.groups.length > 0 && !allow.groups.some((g) => identity.groups.includes(g))) {
    return DECISION['not-in-group'];
  }
  for (const [claim, wanted] of Object.entries(allow.claims)) {
    if (!claimMatches(identity.claims[claim], wanted)) return DECISION['claim-mismatch'];
  }
  return DECISION['allowed'];
}

/** The lower-cased part after the one and only "@"; undefined for zero or several "@". */
export function emailDomain(email: string | undefined): string | undefined {
  if (email === undefined) return undefined;
  const parts = email.split('@');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') return undefined;
  return parts[1]?.toLowerCase();
}

type ClaimValue = string | number | boolean;

/** Strict comparison: the claim equals one wanted value, or is an array containing one. */
function claimMatches(actual: unknown, wanted: ClaimValue | readonly ClaimValue[]): boolean {
  const options: readonly ClaimValue[] = Array.isArray(wanted) ? wanted : [wanted as ClaimValue];
  if (Array.isArray(actual)) return actual.some((item) => options.includes(item as ClaimValue));
  return options.includes(actual as ClaimValue);
}
