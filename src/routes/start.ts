/**
 * GET /oauth2/start?rd=TARGET[&provider=ID]: begins a login, at the named provider or, without one, at the
 * only provider the target accepts (else the sign-in page offers them). TARGET must be same-origin;
 * anything else becomes "/". An unknown provider id is a 400, not a guess.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import type { BeginLogin, LoginAt } from '../http/begin-login.js';
import { sendGatewayError } from '../http/replies.js';
import type { Providers } from '../oidc/providers.js';
import type { RouteTable } from '../proxy/upstreams.js';
import { safeRedirectTarget } from '../session/transaction.js';
import { START_PATH } from '../url/login-paths.js';
import { providersFor } from './login-choices.js';
import { startStepUp, type StartStepUpDeps } from './step-up-start.js';

/** Registers /oauth2/start. */
export function registerStart(
  app: FastifyInstance,
  deps: { beginLogin: BeginLogin; loginAt: LoginAt; providers: Providers; routes: RouteTable; publicUrl: string } & StartStepUpDeps,
): void {
  const { beginLogin, loginAt, providers, publicUrl } = deps;
  app.get(START_PATH, async (request, reply) => {
    const query = request.query as { rd?: unknown; provider?: unknown };
    const rd = safeRedirectTarget(query.rd, publicUrl);
    // The target's step-up rule, if any (forward-auth's 401 leads browsers here: the nginx recipe).
    const stepUp = await startStepUp(request, rd, deps);
    if (query.provider === undefined) {
      if (stepUp.upgrade) return beginLogin(request, reply, rd, [stepUp.upgrade.provider], stepUp.upgrade.ask);
      return beginLogin(request, reply, rd, providersFor(request, rd, deps).map((provider) => provider.id), stepUp.plain);
    }
    const provider = typeof query.provider === 'string' ? providers.byId(query.provider) : undefined;
    if (!provider) {
      // The page's "Sign in again" offers the providers the target accepts, the target kept.
      return sendGatewayError(request, reply, new GatewayError(ErrorCode.badRequest, 400, 'There is no such sign-in option. Please choose one on the sign-in page.'), {
        target: rd,
      });
    }
    return loginAt(request, reply, rd, provider, stepUp.upgrade?.provider === provider.id ? stepUp.upgrade.ask : stepUp.plain);
  });
}
