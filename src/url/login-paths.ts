/**
 * The gateway's sign-in addresses, in one place: the routes that serve them and every page or redirect
 * that links to them.
 */

/** Starts a login (at `provider`, or at the only provider the target accepts, else via the sign-in page). */
export const START_PATH = '/oauth2/start';
/** The sign-in page: one button per provider the target accepts. */
export const SIGN_IN_PATH = '/oauth2/sign_in';

/** The link that starts a sign-in returning to `target` (a safe same-origin path), at `provider` if given. */
export function startHref(target: string, provider?: string): string {
  const rd = `rd=${encodeURIComponent(target)}`;
  return provider === undefined ? `${START_PATH}?${rd}` : `${START_PATH}?provider=${encodeURIComponent(provider)}&${rd}`;
}

/** The sign-in page for `target`. */
export function signInPageHref(target: string): string {
  return `${SIGN_IN_PATH}?rd=${encodeURIComponent(target)}`;
}
