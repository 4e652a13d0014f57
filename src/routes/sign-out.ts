/**
 * GET or POST /oauth2/sign_out?rd=PATH: ends the session here, then at the provider (RP-initiated logout
 * with id_token_hint) when it has an end_session_endpoint; otherwise straight to rd. Without rd the
 * landing is /oauth2/signed_out ("You are signed out").
 *
 * A request another site made a browser send (a link, an image, an auto-submitted form: logout CSRF) does
 * not sign out: it gets a page asking the user to confirm with a same-origin POST. Browsers say where a
 * request comes from in Sec-Fetch-Site (or, older ones, in Origin); a request with neither (curl, scripts)
 * is not a browser being steered by a page, and signs out as before.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendPage } from '../http/replies.js';
import type { Providers } from '../oidc/providers.js';
import type { Pages } from '../pages/load-pages.js';
import { renderSignOutConfirmation } from '../pages/render.js';
import { safeRedirectTarget } from '../session/transaction.js';
import type { SessionStore } from '../session/types.js';

const SIGN_OUT_PATH = '/oauth2/sign_out';
/** Where a sign-out without rd lands (routes/signed-out.ts). */
export const SIGNED_OUT_PATH = '/oauth2/signed_out';

/** Registers /oauth2/sign_out. */
export function registerSignOut(app: FastifyInstance, deps: { store: SessionStore; providers: Providers; publicUrl: string; pages: Pages }): void {
  const { store, providers, publicUrl, pages } = deps;
  const ownOrigin = new URL(publicUrl).origin;

  /** True when a page on another origin made the browser send this request (not typed, not our own page). */
  const fromElsewhere = (request: FastifyRequest): boolean => {
    const site = request.headers['sec-fetch-site'];
    // `same-site` counts as elsewhere: a sibling subdomain is another application, maybe another owner.
    if (site !== undefined) return site !== 'same-origin' && site !== 'none';
    const origin = request.headers.origin;
    return origin !== undefined && origin !== ownOrigin;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const form = request.body instanceof URLSearchParams ? request.body : undefined;
    const rd = form?.get('rd') ?? (request.query as { rd?: unknown }).rd;
    // An explicit rd is kept (an off-site one becomes "/"); none at all lands on the signed-out page.
    const target = rd === undefined || rd === null ? SIGNED_OUT_PATH : safeRedirectTarget(rd, publicUrl);
    if (fromElsewhere(request)) {
      // sendPage: the button must not be clickable inside another site's frame (clickjacking).
      return sendPage(
        reply,
        200,
        renderSignOutConfirmation(pages, {
          requestId: String(request.id),
          heading: 'Sign out?',
          message: 'A page on another site sent you here to sign out. Do you want to sign out?',
          action: SIGN_OUT_PATH,
          fields: { rd: target },
          button: 'Sign out',
        }),
      );
    }
    const loaded = request.authgate.session ?? (await store.load(request));
    await store.destroy(request, reply);
    request.authgate.session = null;
    if (loaded) request.log.info({ sub: loaded.session.identity.sub, provider: loaded.session.provider }, 'signed out');
    // RP-initiated logout at the session's own provider (none when it is no longer configured).
    const provider = loaded ? providers.ofSession(loaded.session) : undefined;
    const endSession = loaded && provider ? provider.endSessionUrl(loaded.session.tokens.idToken, new URL(target, publicUrl).href) : null;
    return reply.header('cache-control', 'no-store').redirect(endSession?.href ?? target, 302);
  };
  app.get(SIGN_OUT_PATH, handler);
  app.post(SIGN_OUT_PATH, handler);
}
