/**
 * GET or POST /oauth2/sign_out?rd=PATH: ends the session here, hands its refresh token back to the provider
 * (RFC 7009 revocation, when the provider offers it), then ends it at the provider (RP-initiated logout
 * with id_token_hint) when it has an end_session_endpoint; otherwise straight to rd. Without rd the
 * landing is /oauth2/signed_out ("You are signed out").
 *
 * A request another site made a browser send (a link, an image, an auto-submitted form: logout CSRF) does
 * not sign out: it gets a page asking the user to confirm with a same-origin POST. Browsers say where a
 * request comes from in Sec-Fetch-Site (or, older ones, in Origin); a request with neither (curl, scripts)
 * is not a browser being steered by a page, and signs out as before.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenSet } from '../identity.js';
import { sendPage } from '../http/replies.js';
import type { OidcProvider } from '../oidc/provider.js';
import { ProviderError } from '../oidc/provider-call.js';
import type { Providers } from '../oidc/providers.js';
import type { Pages } from '../pages/load-pages.js';
import { renderSignOutConfirmation } from '../pages/render.js';
import { safeRedirectTarget } from '../session/transaction.js';
import type { SessionStore } from '../session/types.js';

const SIGN_OUT_PATH = '/oauth2/sign_out';
/** Where a sign-out without rd lands (routes/signed-out.ts). */
export const SIGNED_OUT_PATH = '/oauth2/signed_out';

/** How long a sign-out waits for the provider's revocation answer before it goes on (the call itself goes on too). */
const REVOCATION_WAIT_MS = 2_000;

/**
 * Revokes the signed-out session's tokens at its provider, waiting at most REVOCATION_WAIT_MS: the session
 * is already gone here, so a slow or failing provider delays the sign-out a little and never stops it.
 * A failure is one warning line, with the provider's OAuth error and never a token.
 */
async function revokeAtProvider(provider: OidcProvider, tokens: TokenSet, log: FastifyBaseLogger): Promise<void> {
  let saidLate = false;
  const revoked = provider.revoke(tokens).then(
    (outcome) => {
      if (outcome === 'refresh_token' || outcome === 'access_token') log.info({ provider: provider.id, revoked: outcome }, 'sign-out: token revoked at the provider');
    },
    (err: unknown) => {
      if (saidLate) return; // one line per sign-out
      const details = err instanceof ProviderError ? { reason: err.reason, oauthError: err.oauthError, providerStatus: err.providerStatus } : {};
      log.warn({ provider: provider.id, ...details }, 'sign-out: the provider did not revoke the token; the session here is ended all the same');
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), REVOCATION_WAIT_MS)));
  const late = await Promise.race([revoked, waited]);
  clearTimeout(timer);
  if (late !== 'late') return;
  saidLate = true;
  log.warn({ provider: provider.id }, `sign-out: the provider did not answer the revocation within ${REVOCATION_WAIT_MS} ms; signed out without waiting`);
}

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
    // Revocation and RP-initiated logout at the session's own provider (none when it is no longer configured).
    const provider = loaded ? providers.ofSession(loaded.session) : undefined;
    if (loaded && provider) await revokeAtProvider(provider, loaded.session.tokens, request.log);
    const endSession = loaded && provider ? provider.endSessionUrl(loaded.session.tokens.idToken, new URL(target, publicUrl).href) : null;
    return reply.header('cache-control', 'no-store').redirect(endSession?.href ?? target, 302);
  };
  app.get(SIGN_OUT_PATH, handler);
  app.post(SIGN_OUT_PATH, handler);
}
