/**
 * What /oauth2/start asks of a login when its target's route has a step-up rule (docs/step-up.md). The
 * nginx recipe sends a browser there after forward-auth's 401, so the start must know what the guard knows:
 * signed out, the first login already asks acr_values / max_age; signed in at a provider the route accepts
 * without meeting the rule, the login upgrades that session; a session that meets the rule changes nothing.
 */
import type { FastifyRequest } from 'fastify';
import type { Providers } from '../oidc/providers.js';
import { stepUpRuleOf, type StepUpAsk } from '../policy/step-up.js';
import type { StepUpGate } from '../proxy/step-up-gate.js';
import { matchUpstream, type RouteTable } from '../proxy/upstreams.js';
import { loadSession, type SessionAccess } from '../session/access.js';
import { normaliseTarget } from '../url/normalise-path.js';

/** What a start for a target asks: nothing, the route's values, or an upgrade of the session at `provider`. */
export interface StartStepUp {
  /** The route's values alone (a login that upgrades no session). */
  plain?: StepUpAsk;
  /** The upgrade of the request's session, valid for a login at `provider` only. */
  upgrade?: { ask: StepUpAsk; provider: string };
}

/** What the start needs to judge the target. */
export interface StartStepUpDeps {
  routes: RouteTable;
  providers: Providers;
  sessionAccess: SessionAccess;
  stepUp: StepUpGate;
}

/** The step-up a login for `rd` (a safe same-origin target) must ask for. */
export async function startStepUp(request: FastifyRequest, rd: string, deps: StartStepUpDeps): Promise<StartStepUp> {
  const target = normaliseTarget(rd.split('#', 1)[0]);
  const upstream = target ? matchUpstream(deps.routes.current.upstreams, request.headers.host, target.path) : undefined;
  if (!upstream || upstream.config.auth === 'public') return {};
  const { allow, providers: accepted } = upstream.config;
  const rule = stepUpRuleOf(allow);
  if (rule === undefined) return {};
  const session = await loadSession(deps.sessionAccess, request);
  const provider = session ? (session.provider ?? deps.providers.primary.id) : undefined;
  if (!session || provider === undefined || (accepted !== undefined && !accepted.includes(provider))) return { plain: rule.ask };
  if (deps.stepUp.unmet(allow, { provider, acr: session.acr, authTime: session.authAt }) === undefined) return {};
  return { plain: rule.ask, upgrade: { ask: deps.stepUp.upgradeAsk(rule, session), provider } };
}
