// The cookie jar of the test browser (browser-client.ts): tough-cookie underneath, with the attributes a
// browser keeps exposed so tests can inspect how each cookie was set.
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
