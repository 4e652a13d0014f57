/**
 * Signs in once through a system, like a browser would (test/helpers/browser-client.ts fills the provider's
 * login and consent forms), and returns the Cookie header of that system's own cookies only: the provider
 * shares the host name 127.0.0.1 and cookie jars ignore ports, so its cookies are left out by origin.
 */
import { BrowserClient, CookieJar } from '../test/helpers/browser-client.js';

/** A jar that remembers which cookie names one origin set. */
class OriginJar extends CookieJar {
  readonly names = new Set<string>();

  constructor(private readonly origin: string) {
    super();
  }

  override setCookie(header: string, url: string | URL): void {
    if (new URL(url).origin === this.origin) this.names.add(header.slice(0, header.indexOf('=')).trim());
    super.setCookie(header, url);
  }
}

/** Logs in as `login` starting at `url` (the system's root) and returns the system's session Cookie header. */
export async function signIn(url: string, login = 'alice'): Promise<string> {
  const jar = new OriginJar(new URL(url).origin);
  const result = await new BrowserClient(jar).login(url, login);
  const status = result.response?.status;
  await result.response?.body?.cancel();
  if (status !== 200) throw new Error(`sign-in through ${url} ended with HTTP ${status} (visited ${result.visited.join(' -> ')})`);
  const cookies = jar.all().filter((cookie) => jar.names.has(cookie.name));
  if (cookies.length === 0) throw new Error(`sign-in through ${url} left no session cookie`);
  return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
}

/**
 * Proves the cookie is what lets requests through: with it GET / is 200 "ok" from the upstream, without it
 * an authenticating system answers something else (a redirect to the provider).
 */
export async function checkSession(url: string, cookie: string | undefined): Promise<void> {
  const withCookie = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const body = await withCookie.text();
  if (withCookie.status !== 200 || body !== 'ok') throw new Error(`${url} with the session answered ${withCookie.status} ${body.slice(0, 200)}`);
  if (cookie === undefined) return;
  const without = await fetch(url, { redirect: 'manual' });
  await without.body?.cancel();
  if (without.status === 200) throw new Error(`${url} answered 200 without a session: authentication is not on`);
}

/**
 * What a browser holds after one more request: `cookie` with the values the system's answer to `GET url` set
 * (a session re-sealed because its idle clock moved on, say) put in place of the old ones. The load client
 * (autocannon) sends one fixed Cookie header and ignores Set-Cookie, so without this a system that rewrites
 * its cookie would be measured against a client no browser is like: one that never takes the new cookie.
 */
export async function takeNewCookies(url: string, cookie: string): Promise<string> {
  const response = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  await response.body?.cancel();
  const pairs = new Map(cookie.split('; ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    const name = pair.slice(0, pair.indexOf('=')).trim();
    if (!pairs.has(name)) continue;
    const value = pair.slice(pair.indexOf('=') + 1);
    if (value === '' || /;\s*max-age=0/i.test(line)) pairs.delete(name);
    else pairs.set(name, value);
  }
  return [...pairs].map(([name, value]) => `${name}=${value}`).join('; ');
}
