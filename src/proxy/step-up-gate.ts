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
  /** The route's rule when `principal` does not meet it; undefined when the route has none or it is met. */
  unmet(allow: AllowRule, principal: Principal): StepUpRule | undefined;
  /** What a step-up login upgrading `session` asks: the rule's values and the session it upgrades. */
  upgradeAsk(rule: StepUpRule, session: SessionData): StepUpAsk;
}

/** Creates the gate; `now` is the gateway's clock (ms), the leeway each provider's `oidc.clockSkew`. */
export function createStepUpGate(deps: { providers: Pick<Providers, 'byId'>; now: () => number }): StepUpGate {
  const { providers, now } = deps;
  return {
    unmet(allow, principal) {
      const rule = stepUpRuleOf(allow);
      if (rule === undefined) return undefined;
      const skew = providers.byId(principal.provider)?.settings.clockSkew ?? 0;
      return meetsStepUp(rule, principal.acr, principal.authTime, now(), skew) ? undefined : rule;
    },
    upgradeAsk(rule, session) {
      return { ...rule.ask, up: sessionFingerprint(session.id) };
    },
  };
}
