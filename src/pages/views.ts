/**
 * What each page template is given (docs/pages.md lists every variable). Plain data only: the templates
 * cannot run code, and every string is HTML-escaped when shown.
 */

/** The branding and request id every page gets. */
export interface CommonView {
  /** `pages.title`: the product name. */
  title: string;
  /** `pages.logo`: "" or an http(s) URL or same-origin path (checked in the configuration). */
  logo: string;
  /** `pages.footer`: "" or text. */
  footer: string;
  /** This request's id (the X-Request-Id sent upstream and logged as reqId). */
  requestId: string;
}

/** A link the user can follow next. */
export interface PageAction {
  href: string;
  text: string;
}

/** error.html's view. */
export interface ErrorView extends CommonView {
  status: number;
  /** A short heading such as "Access denied". */
  heading: string;
  /** What happened, in a sentence a user understands. */
  message: string;
  /** The provider's own words for a refused sign-in (error code and description), else "". */
  detail: string;
  /** Who is signed in (userOf the session's identity), else "". */
  user: string;
  /** The signed-in user's email, else "". */
  email: string;
  /** The ways on: sign in again (original target kept), try again, go home. */
  actions: PageAction[];
  /** The same-origin path a new sign-in returns to. */
  target: string;
}

/** One button on the sign-in page. */
export interface SignInProvider {
  id: string;
  name: string;
  /** Where the button goes: `/oauth2/start?provider=ID&rd=TARGET`. */
  href: string;
}

/** sign_in.html's view. */
export interface SignInView extends CommonView {
  providers: SignInProvider[];
  /** The same-origin path the user goes to after signing in. */
  target: string;
}

/** signed_out.html's view. */
export interface SignedOutView extends CommonView {
  /** The link that starts a new sign-in. */
  signInHref: string;
}

/** The sign-out confirmation's view (built-in page). */
export interface SignOutView extends CommonView {
  heading: string;
  message: string;
  action: string;
  fields: Array<{ name: string; value: string }>;
  button: string;
}

/** The view of each page, by page name. */
export interface PageViews {
  error: ErrorView;
  sign_in: SignInView;
  signed_out: SignedOutView;
  sign_out: SignOutView;
}

/** A page's name (and, but for sign_out, its file name in `pages.dir` without `.html`). */
export type PageName = keyof PageViews;
