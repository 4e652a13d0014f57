/**
 * GET /oauth2/sign_in?rd=TARGET: one button per provider the target accepts; with only one, straight to
 * it. Each button is a link to /oauth2/start?provider=ID&rd=TARGET, so the page holds no state of its own.
 */
import type { FastifyInstance } from 'fastify';
import type { LoginAt } from '../http/begin-login.js';
import { sendPage } from '../http/replies.js';
import type { Providers } from '../oidc/providers.js';
import type { Pages } from '../pages/load-pages.js';
import { renderSignIn } from '../pages/render.js';
import type { RouteTable } from '../proxy/upstreams.js';
import { safeRedirectTarget } from '../session/transaction.js';
import { SIGN_IN_PATH, startHref } from '../url/login-paths.js';
import { providersFor } from './login-choices.js';

/** Registers /oauth2/sign_in. */
export function registerSignIn(app: FastifyInstance, deps: { loginAt: LoginAt; providers: Providers; routes: RouteTable; publicUrl: string; pages: Pages }): void {
  const { loginAt, publicUrl, pages } = deps;
  app.get(SIGN_IN_PATH, async (request, reply) => {
    const rd = safeRedirectTarget((request.query as { rd?: unknown }).rd, publicUrl);
    const offered = providersFor(request, rd, deps);
    if (offered.length === 1) return loginAt(request, reply, rd, offered[0]);
    const buttons = offered.map((provider) => ({
      id: provider.id,
      name: provider.settings.name,
      href: startHref(rd, provider.id),
    }));
    return sendPage(reply, 200, renderSignIn(pages, { providers: buttons, target: rd, requestId: String(request.id) }));
  });
}
