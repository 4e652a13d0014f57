/**
 * The view of an error page: the status, what happened in words a user understands (never a reason code),
 * who is signed in, the ways on (sign in again with the original target, try again, home) and the request id.
 */
import { startHref } from '../url/login-paths.js';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, type ErrorCodeValue, type GatewayError } from '../errors.js';
import { userOf } from '../identity.js';
import { safeRedirectTarget } from '../session/transaction.js';
import type { Pages } from './load-pages.js';
import type { ErrorView, PageAction } from './views.js';

/** What a caller knows that the request does not say: the original target, the provider's own words. */
export interface ErrorPageHints {
  /** The same-origin path a new sign-in should return to (e.g. the login transaction's rd). */
  target?: string;
  /** The identity provider's error code and description, shown small under the sentence. */
  detail?: string;
}

type Way = 'signIn' | 'signOut' | 'retry' | 'home';

interface Wording {
  heading: string;
  message: string;
  ways: Way[];
}

const CALLBACK_PATH = '/oauth2/callback';


const WORDING: Record<ErrorCodeValue, Wording> = {
  [ErrorCode.providerUnavailable]: {
    heading: 'Sign-in service unavailable',
    message: 'The sign-in service is not reachable right now, so you cannot be signed in. This is usually brief: please try again in a moment.',
    ways: ['retry', 'home'],
  },
  [ErrorCode.loginExpired]: {
    heading: 'Sign-in expired',
    message: 'This sign-in has expired or was already used (for example in another tab). Nothing is wrong with your account: please sign in again.',
    ways: ['signIn', 'home'],
  },
  [ErrorCode.loginFailed]: {
    heading: 'Sign-in failed',
    message: 'The answer from the sign-in service could not be verified, so you are not signed in. Please sign in again.',
    ways: ['signIn', 'home'],
  },
  [ErrorCode.providerError]: {
    heading: 'Sign-in cancelled',
    message: 'The sign-in was cancelled or refused at the identity provider, so you are not signed in.',
    ways: ['signIn', 'home'],
  },
  [ErrorCode.badRequest]: {
    heading: 'Request not accepted',
    message: 'The gateway could not process this request. Going back to the home page usually helps.',
    ways: ['home'],
  },
  [ErrorCode.forbidden]: {
    heading: 'Access denied',
    message: 'You are signed in, but your account is not allowed to use this application. If access was just granted to you, sign in again; otherwise sign in with another account or ask the application’s administrators.',
    ways: ['signIn', 'signOut', 'home'],
  },
  [ErrorCode.badPath]: {
    heading: 'Address not valid',
    message: 'This address cannot be used. Please check the link you followed.',
    ways: ['home'],
  },
  [ErrorCode.notFound]: {
    heading: 'Not found',
    message: 'There is no application at this address. Please check the link you followed.',
    ways: ['home'],
  },
  [ErrorCode.upstreamUnavailable]: {
    heading: 'Application unavailable',
    message: 'The application is not reachable right now. You are still signed in: please try again in a moment.',
    ways: ['retry', 'home'],
  },
  [ErrorCode.upstreamTimeout]: {
    heading: 'Application too slow',
    message: 'The application did not answer in time. You are still signed in: please try again in a moment.',
    ways: ['retry', 'home'],
  },
  [ErrorCode.sessionStoreUnavailable]: {
    heading: 'Temporarily unavailable',
    message: 'Your sign-in cannot be checked right now. You are still signed in: please try again in a moment.',
    ways: ['retry', 'home'],
  },
  [ErrorCode.headersTooLarge]: {
    heading: 'Request too large',
    message: 'Your browser sent more than the gateway accepts, often because of too many cookies for this site. Clearing this site’s cookies usually helps.',
    ways: ['home'],
  },
  [ErrorCode.sessionTooLarge]: {
    heading: 'Sign-in could not be saved',
    message: 'Your account carries more information than a sign-in can hold here. Please tell the site’s administrators.',
    ways: ['home'],
  },
  [ErrorCode.stepUpRequired]: {
    heading: 'A stronger sign-in is needed',
    message: 'This page asks for a stronger or more recent sign-in (for example with a second factor) than the one just made. You are still signed in for everything else. Try again, and choose the stronger way to sign in if you are offered one.',
    ways: ['retry', 'home'],
  },
  [ErrorCode.stepUpOtherUser]: {
    heading: 'Signed in as someone else',
    message: 'This page asked you to confirm your sign-in, but the identity provider signed in another account. You are still signed in as before. To switch accounts, sign out first.',
    ways: ['retry', 'signOut', 'home'],
  },
  [ErrorCode.internal]: {
    heading: 'Something went wrong',
    message: 'The gateway had an unexpected problem with this request. Please try again in a moment.',
    ways: ['retry', 'home'],
  },
};

/**
 * Codes whose message names the cause in words (what the provider answered, what the administrators can
 * change): shown small as the detail.
 */
const SHOWS_CAUSE: ReadonlySet<ErrorCodeValue> = new Set([ErrorCode.loginFailed, ErrorCode.providerError, ErrorCode.sessionTooLarge]);

/** A provider error that is not the user's choice (RFC 6749 4.1.2.1): the provider itself had a problem. */
const PROVIDER_TROUBLE: Wording = {
  heading: 'Sign-in service error',
  message: 'The identity provider could not complete the sign-in, so you are not signed in. Please try again in a moment.',
  ways: ['signIn', 'home'],
};

/** A 4xx that fastify raised itself (a body too large, a bad content type): said by status. */
const BY_STATUS: Record<number, Pick<Wording, 'heading' | 'message'>> = {
  408: { heading: 'Request too slow', message: 'The request took too long to arrive.' },
  413: { heading: 'Request too large', message: 'What you sent is larger than the gateway accepts.' },
  415: { heading: 'Request not accepted', message: 'The gateway does not accept this kind of content here.' },
};

const TEXT: Record<Way, string> = {
  signIn: 'Sign in again',
  signOut: 'Sign in as someone else',
  retry: 'Try again',
  home: 'Go to the home page',
};

/** Builds the error page's view for `err` on `request`. */
export function errorView(pages: Pages, request: FastifyRequest, err: GatewayError, hints: ErrorPageHints = {}): ErrorView {
  const state = request.authgate as FastifyRequest['authgate'] | null | undefined;
  const wording = err.code === ErrorCode.providerError && err.status >= 500 ? PROVIDER_TROUBLE : WORDING[err.code];
  const byStatus = err.code === ErrorCode.badRequest ? BY_STATUS[err.status] : undefined;
  const path = state?.path ?? '/';
  const here = state?.query ? `${path}?${state.query}` : path;
  // A gateway route (a callback, the sign-out) is no place to return to after signing in.
  const ownRoute = path.startsWith('/oauth2/');
  const target = safeRedirectTarget(hints.target ?? (ownRoute ? '/' : here), pages.publicUrl);
  const identity = state?.session?.session.identity;
  const actions: PageAction[] = [];
  for (const way of wording.ways) {
    const href = hrefOf(way, target, here, request.method, pages.publicUrl);
    if (href !== undefined) actions.push({ href, text: TEXT[way] });
  }
  return {
    ...pages.brand,
    requestId: String(request.id),
    status: err.status,
    heading: byStatus?.heading ?? wording.heading,
    message: byStatus?.message ?? wording.message,
    detail: hints.detail ?? (SHOWS_CAUSE.has(err.code) ? err.safeMessage : ''),
    user: identity ? userOf(identity) : '',
    email: identity?.email ?? '',
    actions,
    target,
  };
}

/** Where one way on leads; undefined when it does not apply (nothing to retry after a form post). */
function hrefOf(way: Way, target: string, here: string, method: string, publicUrl: string): string | undefined {
  switch (way) {
    case 'signIn':
      return signInHref(target);
    case 'signOut':
      return '/oauth2/sign_out';
    case 'home':
      return '/';
    case 'retry':
      // Retrying a callback would reuse a spent transaction: a new sign-in is the retry there.
      if (here.startsWith(CALLBACK_PATH)) return signInHref(target);
      return method === 'GET' || method === 'HEAD' ? safeRedirectTarget(here, publicUrl) : undefined;
  }
}

/** The link that starts a sign-in returning to `target` (a safe same-origin path): with several providers, /oauth2/start offers those the target accepts. */
export const signInHref = (target: string): string => startHref(target);
