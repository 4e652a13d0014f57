/**
 * One render function per page: each builds its view from the branding, the request id and what the caller
 * gives, and returns the page's HTML. The caller sets the status and headers.
 */
import type { FastifyRequest } from 'fastify';
import type { GatewayError } from '../errors.js';
import { errorView, signInHref, type ErrorPageHints } from './error-view.js';
import type { Pages } from './load-pages.js';
import type { SignInProvider } from './views.js';

/** The error page for `err` on `request` (the wording, user and ways on come from error-view.ts). */
export function renderError(pages: Pages, request: FastifyRequest, err: GatewayError, hints?: ErrorPageHints): string {
  return pages.render('error', errorView(pages, request, err, hints));
}

/**
 * The sign-in page: one button per provider. `providers[].href` is the caller's (`/oauth2/start?provider=ID&rd=…`);
 * `target` is the safe same-origin path the user returns to.
 */
export function renderSignIn(pages: Pages, page: { providers: SignInProvider[]; target: string; requestId: string }): string {
  return pages.render('sign_in', { ...pages.brand, requestId: page.requestId, providers: page.providers, target: page.target });
}

/** The landing after sign-out: "You are signed out" and a link that signs in again (to "/"). */
export function renderSignedOut(pages: Pages, page: { requestId: string }): string {
  return pages.render('signed_out', { ...pages.brand, requestId: page.requestId, signInHref: signInHref('/') });
}

/** A page asking the user to confirm with one button: a same-origin POST to `action` carrying `fields`. */
export function renderSignOutConfirmation(
  pages: Pages,
  page: { heading: string; message: string; action: string; fields: Record<string, string>; button: string; requestId: string },
): string {
  const fields = Object.entries(page.fields).map(([name, value]) => ({ name, value }));
  return pages.render('sign_out', { ...pages.brand, requestId: page.requestId, heading: page.heading, message: page.message, action: page.action, fields, button: page.button });
}
