/**
 * Step-up at the guard and at forward-auth (docs/step-up.md): whether a principal meets its route's
 * `allow.acr` / `allow.maxAge`, and what a browser is sent to the provider with when it does not.
 */
import type { AllowRule } from '../config/schema.js';
import type { Providers } from '../oidc/providers.js';
import { meetsStepUp, stepUpRuleOf, type StepUpAsk, type StepUpRule } from '../policy/step-up.js';
import { sessionFingerprint } from '../session/step-up-session.js';
import type { SessionData } from '../session/types.js';
import type { Principal } from './principal.js';

/** Judges principals against step-up rules. */
export interface StepUpGate {
  /** The route's rule when `login` (a principal, or a session's values) does not meet it; undefined when none or met. */
  unmet(allow: AllowRule, login: Pick<Principal, 'provider' | 'acr' | 'authTime'>): StepUpRule | undefined;
  /** What a step-up login upgrading `session` asks: the rule's values and the session it upgrades. */
  upgradeAsk(rule: StepUpRule, session: SessionData): StepUpAsk;
}

/** Creates the gate; `now` is the gateway's clock (ms), the leeway each provider's `oidc.clockSkew`. */
export function createStepUpGate(deps: { providers: Pick<Providers, 'byId'>; now: () => number }): StepUpGate {
  const { providers, now } = deps;
  return {
    unmet(allow, login) {
      const rule = stepUpRuleOf(allow);
      if (rule === undefined) return undefined;
      const skew = providers.byId(login.provider)?.settings.clockSkew ?? 0;
      return meetsStepUp(rule, login.acr, login.authTime, now(), skew) ? undefined : rule;
    },
    upgradeAsk(rule, session) {
      return { ...rule.ask, up: sessionFingerprint(session.id) };
    },
  };
}
