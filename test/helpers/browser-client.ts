// A fetch-based "browser" with a cookie jar, for tests that log in over real HTTP without Chromium.
import { CookieJar } from './cookie-jar.js';
import { parseForms } from './html-forms.js';

export { CookieJar, type StoredCookie } from './cookie-jar.js';
export { parseForms, type HtmlForm } from './html-forms.js';

const NAVIGATION_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';
const MAX_HOPS = 20;

function isRedirect(status: number): boolean {
  return [301, 302, 303, 307, 308].includes(status);
}

/** Result of the login helper: the response after the callback (unless stopped) and the callback URL itself. */
export interface LoginResult {
  response?: Response;
  callbackUrl: string;
  visited: string[];
}

/** A cookie-keeping HTTP client that behaves like a browser navigating pages, minus JavaScript. */
export class BrowserClient {
  /** The cookies this browser holds, shared with whoever passed it in. */
  readonly jar: CookieJar;

  constructor(jar?: CookieJar) {
    this.jar = jar ?? new CookieJar();
  }

  /** One request, no redirect following; sends the jar's cookies and stores the ones set. */
  async fetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (!headers.has('accept')) headers.set('accept', NAVIGATION_ACCEPT);
    const fromJar = this.jar.cookieHeader(url);
    if (fromJar) headers.set('cookie', headers.has('cookie') ? `${fromJar}; ${headers.get('cookie')}` : fromJar);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const header of response.headers.getSetCookie()) this.jar.setCookie(header, url);
    return response;
  }

  /** Follows redirects (GET after 301/302/303, same method after 307/308) up to 20 hops. */
  async follow(url: string | URL, init: RequestInit = {}): Promise<{ response: Response; visited: string[] }> {
    const visited: string[] = [];
    let current = new URL(url);
    let request = init;
    for (let hop = 0; hop <= MAX_HOPS; hop += 1) {
      visited.push(current.href);
      const response = await this.fetch(current, request);
      const location = response.headers.get('location');
      if (!isRedirect(response.status) || !location) return { response, visited };
      await response.body?.cancel();
      current = new URL(location, current);
      if (response.status !== 307 && response.status !== 308) request = asGet(init);
    }
    throw new Error(`more than ${MAX_HOPS} redirects: ${visited.join(' -> ')}`);
  }

  /**
   * Logs in through oidc-provider's devInteractions: follows redirects from `url`, fills the login form as
   * `login` and the consent form, and stops at (or, by default, continues through) the relying party's callback.
   */
  async login(url: string | URL, login: string, opts: { stopAtCallback?: boolean } = {}): Promise<LoginResult> {
    const visited: string[] = [];
    let current = new URL(url);
    let init: RequestInit = {};
    let submittedLogin = false;
    for (let step = 0; step <= MAX_HOPS; step += 1) {
      visited.push(current.href);
      const response = await this.fetch(current, init);
      init = {};
      const location = response.headers.get('location');
      if (isRedirect(response.status) && location) {
        await response.body?.cancel();
        const next = new URL(location, current);
        if (isAuthorizationResponse(next, current)) {
          if (opts.stopAtCallback) return { callbackUrl: next.href, visited };
          const rest = await this.follow(next);
          return { response: rest.response, callbackUrl: next.href, visited: [...visited, ...rest.visited] };
        }
        current = next;
        continue;
      }
      const html = await response.text();
      const form = parseForms(html, current).find((f) => f.fields.prompt === 'login' || f.fields.prompt === 'consent');
      if (!form) {
        throw new Error(`login as ${login} stopped at ${current.href} (HTTP ${response.status}) without reaching the callback: ${html.slice(0, 500)}`);
      }
      if (form.fields.prompt === 'login' && submittedLogin) {
        throw new Error(`login as ${login} was refused: the provider asked for a login again at ${current.href}`);
      }
      submittedLogin ||= form.fields.prompt === 'login';
      const fields = form.fields.prompt === 'login' ? { ...form.fields, login, password: 'any-password' } : form.fields;
      current = new URL(form.action);
      init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
    }
    throw new Error(`login as ${login} took more than ${MAX_HOPS} steps: ${visited.join(' -> ')}`);
  }

  /**
   * Signs out through the provider's end_session page: follows redirects from `url` (e.g. the gateway's sign-out
   * URL), confirms the provider's "Do you want to sign out?" form with logout=yes, and follows to the end.
   */
  async logout(url: string | URL): Promise<{ response: Response; visited: string[] }> {
    const first = await this.follow(url);
    const visited = [...first.visited];
    const pageUrl = visited[visited.length - 1] ?? new URL(url).href;
    const html = await first.response.clone().text();
    const form = parseForms(html, pageUrl).find((f) => f.id === 'op.logoutForm');
    if (!form) return first;
    const rest = await this.follow(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.fields, logout: 'yes' }).toString(),
    });
    return { response: rest.response, visited: [...visited, ...rest.visited] };
  }
}

// A browser turns a POST into a GET after 301/302/303 and drops the body and its content headers.
function asGet(init: RequestInit): RequestInit {
  const headers = new Headers(init.headers);
  headers.delete('content-type');
  headers.delete('content-length');
  return { ...init, method: 'GET', body: null, headers };
}

// The provider's redirect back to the relying party: it carries code or error and leaves the provider's origin.
function isAuthorizationResponse(next: URL, from: URL): boolean {
  return next.origin !== from.origin && (next.searchParams.has('code') || next.searchParams.has('error'));
}
