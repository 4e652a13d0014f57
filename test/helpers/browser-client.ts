// A fetch-based "browser" with a cookie jar, for tests that log in over real HTTP without Chromium.
import { CookieJar as ToughCookieJar, type Cookie } from 'tough-cookie';

/** One stored cookie with the attributes a browser keeps, so tests can inspect how it was set. */
export interface StoredCookie {
  name: string;
  value: string;
  /** Host name the cookie belongs to (ports are ignored, like browsers do). */
  domain: string;
  /** True when no Domain attribute was given: sent to exactly this host only. */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
  /** The Max-Age attribute as sent, in seconds. */
  maxAge?: number;
  /** Absolute expiry in ms since the epoch; undefined for a session cookie. */
  expiresAt?: number;
}

/** What a browser needs to keep Max-Age as it was sent: tough-cookie re-bases it on each access instead. */
const sentMaxAge = new WeakMap<Cookie, number>();

function toStored(cookie: Cookie): StoredCookie {
  const expiry = cookie.expiryTime();
  const maxAge = sentMaxAge.get(cookie);
  return {
    name: cookie.key,
    value: cookie.value,
    domain: cookie.domain ?? '',
    hostOnly: cookie.hostOnly ?? true,
    path: cookie.path ?? '/',
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    ...(cookie.sameSite !== undefined ? { sameSite: cookie.sameSite.toLowerCase() } : {}),
    ...(maxAge !== undefined ? { maxAge } : {}),
    ...(expiry !== undefined && expiry !== Infinity ? { expiresAt: expiry } : {}),
  };
}

/**
 * Cookies by host name, honouring Path, Domain, Max-Age/Expires and Secure the way a browser does: a
 * tough-cookie jar (RFC 6265bis), with a few choices made for tests (see the options below).
 */
export class CookieJar {
  readonly #jar = new ToughCookieJar(undefined, {
    // Nameless cookies ("=v" or "v") are kept and sent as their value alone, as browsers do.
    looseMode: true,
    // Secure cookies are sent over https only, loopback included, so a test sees exactly where they go...
    allowSecureOnLocal: false,
    // ...but kept even when set over http (and __Host-/__Secure- ones too), so tests can inspect them.
    enforceSecureOriginOnStorage: false,
    prefixSecurity: 'unsafe-disabled',
  });

  /** Stores the cookies of one Set-Cookie header received from `url` (invalid ones are ignored, as browsers do). */
  setCookie(header: string, url: string | URL): void {
    const cookie = this.#jar.setCookieSync(header, url, { ignoreError: true, loose: true });
    // Like a browser, Max-Age turns into an expiry time once, when the cookie is stored.
    if (cookie && typeof cookie.maxAge === 'number') {
      sentMaxAge.set(cookie, cookie.maxAge);
      cookie.expires = cookie.maxAge <= 0 ? new Date(0) : new Date(Date.now() + cookie.maxAge * 1000);
      cookie.maxAge = null;
    }
  }

  /** The Cookie header value a browser would send to `url`, or undefined when there is none. */
  cookieHeader(url: string | URL): string | undefined {
    return this.#jar.getCookieStringSync(url) || undefined;
  }

  /** The first live cookie with this name (on any host), for assertions. */
  get(name: string): StoredCookie | undefined {
    return this.all().find((c) => c.name === name);
  }

  /** Every live cookie, expired ones dropped. */
  all(): StoredCookie[] {
    const now = Date.now();
    return this.#live(now).map(toStored);
  }

  /** Forgets every cookie, or only those for one host. */
  clear(host?: string): void {
    if (host === undefined) return this.#jar.removeAllCookiesSync();
    for (const cookie of this.#cookies()) {
      if (cookie.domain === host) this.#jar.store.removeCookie(cookie.domain, cookie.path, cookie.key, () => undefined);
    }
  }

  #live(now: number): Cookie[] {
    return this.#cookies().filter((c) => {
      const expiry = c.expiryTime();
      return expiry === undefined || expiry > now;
    });
  }

  /** Every stored cookie; the memory store answers synchronously. */
  #cookies(): Cookie[] {
    let all: Cookie[] = [];
    this.#jar.store.getAllCookies((err, cookies) => {
      if (err) throw err;
      all = cookies ?? [];
    });
    return all;
  }
}

/** A form found in an HTML page: where it posts and its hidden fields. */
export interface HtmlForm {
  id?: string;
  action: string;
  method: string;
  fields: Record<string, string>;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const raw = match?.[1] ?? match?.[2] ?? match?.[3];
  return raw === undefined ? undefined : decodeEntities(raw);
}

/** Every form in `html` with its absolute action URL and hidden inputs (good enough for oidc-provider's pages). */
export function parseForms(html: string, pageUrl: string | URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const tag = /<form\b[^>]*>/i.exec(match[0])?.[0] ?? '';
    const fields: Record<string, string> = {};
    for (const input of (match[1] ?? '').matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name && attribute(input[0], 'type')?.toLowerCase() === 'hidden') fields[name] = attribute(input[0], 'value') ?? '';
    }
    const id = attribute(tag, 'id');
    forms.push({
      ...(id ? { id } : {}),
      action: new URL(attribute(tag, 'action') ?? '', pageUrl).href,
      method: (attribute(tag, 'method') ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

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
