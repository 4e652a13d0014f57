/**
 * Step-up per route (`allow.acr`, `allow.maxAge`; docs/step-up.md): what a route asks of the login behind a
 * request, whether a login met it, and what the provider is asked for to meet it. A session or token that
 * does not say its `acr` or `auth_time` meets no such rule (sessions from before step-up say neither).
 */
import type { AllowRule } from '../config/schema.js';

/** What a login must show for a route: built once per `allow` rule (see stepUpRuleOf). */
export interface StepUpRule {
  /** `allow.acr`: the login's acr must be one of these (empty: any). */
  acr: readonly string[];
  /** `allow.maxAge` in ms: the login's auth_time must be at most this old. */
  maxAgeMs: number | undefined;
  /** What a login for this route asks the provider for. */
  ask: StepUpAsk;
  /** The RFC 9470 challenge for API callers (the WWW-Authenticate value). */
  challenge: string;
}

/**
 * What a step-up login asks the provider for (`acr_values`, `max_age` in seconds) and remembers in its
 * transaction, so the callback checks the answer against the very same values. `up` names the session the
 * login upgrades (a fingerprint of its id, never the id), absent for a login that starts signed out.
 */
export interface StepUpAsk {
  acr?: readonly string[];
  maxAge?: number;
  up?: string;
}

/** The rules already built, per `allow` object (each reload brings new objects; the old ones are collected). */
const rules = new WeakMap<AllowRule, StepUpRule>();

/** The step-up rule of an `allow` section, or undefined when it asks neither acr nor maxAge. */
export function stepUpRuleOf(allow: AllowRule): StepUpRule | undefined {
  // The hot path pays two property reads for a route without step-up.
  const acr = allow.acr;
  if ((acr === undefined || acr.length === 0) && allow.maxAge === undefined) return undefined;
  let rule = rules.get(allow);
  if (rule === undefined) {
    rule = buildRule(acr ?? [], allow.maxAge);
    rules.set(allow, rule);
  }
  return rule;
}

function buildRule(acr: readonly string[], maxAgeMs: number | undefined): StepUpRule {
  // max_age is whole seconds: rounded down, so the provider is asked for at least what the gateway checks.
  const maxAge = maxAgeMs === undefined ? undefined : Math.floor(maxAgeMs / 1000);
  const ask: StepUpAsk = { ...(acr.length > 0 ? { acr } : {}), ...(maxAge === undefined ? {} : { maxAge }) };
  // RFC 9470 §3: only the parameters that apply. The acr values are quote-free (schema-upstreams.ts).
  const parts = ['Bearer realm="authgate"', 'error="insufficient_user_authentication"', `error_description="${describe(acr.length > 0, maxAge !== undefined)}"`];
  if (acr.length > 0) parts.push(`acr_values="${acr.join(' ')}"`);
  if (maxAge !== undefined) parts.push(`max_age=${maxAge}`);
  return { acr, maxAgeMs, ask, challenge: parts.join(', ') };
}

function describe(acr: boolean, maxAge: boolean): string {
  if (acr && maxAge) return 'A stronger and more recent sign-in is required';
  return acr ? 'A stronger sign-in is required' : 'A more recent sign-in is required';
}

/**
 * True when a login's `acr` and `auth_time` (seconds) meet the rule at `nowMs`: acr one of the rule's, and
 * auth_time no older than maxAge (with `clockSkewMs` of leeway, `oidc.clockSkew`). Missing values fail, and
 * so does an auth_time beyond the skew in the future: it would count as recent until that moment passed.
 */
export function meetsStepUp(rule: Pick<StepUpRule, 'acr' | 'maxAgeMs'>, acr: unknown, authTime: unknown, nowMs: number, clockSkewMs: number): boolean {
  if (rule.acr.length > 0 && (typeof acr !== 'string' || !rule.acr.includes(acr))) return false;
  if (rule.maxAgeMs === undefined) return true;
  if (typeof authTime !== 'number' || !Number.isFinite(authTime)) return false;
  const at = authTime * 1000;
  return at >= nowMs - rule.maxAgeMs - clockSkewMs && at <= nowMs + clockSkewMs;
}

/** The rule a step-up login's transaction asked for, as the callback checks its answer. */
export function askedRule(ask: StepUpAsk): Pick<StepUpRule, 'acr' | 'maxAgeMs'> {
  return { acr: ask.acr ?? [], maxAgeMs: ask.maxAge === undefined ? undefined : ask.maxAge * 1000 };
}
