/**
 * Shared fixtures of the page tests: a stack whose branding and one user's name are hostile text (HTML,
 * quotes, Handlebars braces), Handlebars' escaping written out, and the ways to reach each page.
 */
import type { BrowserClient } from '../helpers/browser-client.js';
import { parseForms } from '../helpers/browser-client.js';
import type { ConfigTree, Stack } from '../helpers/gateway.js';

/** Text that would run, break out of an attribute or be read as a template if it were not escaped. */
export const HOSTILE = `<script>alert(1)</script> "q" 'a' \`b\` {{title}}`;

/** A user whose preferred_username is hostile text; the gateway names users by it (oidc.userClaim). */
export const MALLORY = {
  sub: 'mallory',
  email: 'mallory@example.com',
  emailVerified: true,
  preferredUsername: `mallory<img src=x onerror=alert(1)>"{{footer}}`,
  name: 'Mallory',
  groups: ['staff'],
};

/** Handlebars' HTML escaping (the characters it replaces, as it writes them). */
export function escaped(text: string): string {
  const table: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;', '`': '&#x60;', '=': '&#x3D;' };
  return text.replace(/[&<>"'`=]/g, (c) => table[c] ?? c);
}

/** The branding and routes every page test uses: `/admin` only for admins (a 403 for others). */
export function configurePages(tree: ConfigTree, pages: NonNullable<ConfigTree['pages']> = {}): void {
  tree.oidc.userClaim = 'preferred_username';
  tree.pages = { title: `Acme ${HOSTILE}`, logo: '/static/logo.svg?x="1"', footer: `Footer ${HOSTILE}`, ...pages };
  tree.upstreams = [
    { name: 'admin', path: '/admin', url: tree.upstreams[0]?.url, allow: { groups: ['admins'] } },
    ...tree.upstreams,
  ];
}

/** Follows a browser from `url` to the provider's login page and clicks its "[ Cancel ]" link: the provider denies. */
export async function cancelAtProvider(browser: BrowserClient, url: string): Promise<Response> {
  const { response, visited } = await browser.follow(url);
  const html = await response.text();
  const cancel = /<a href="([^"]+)">\[ Cancel \]<\/a>/.exec(html)?.[1];
  if (!cancel) throw new Error(`no cancel link at ${visited.at(-1)}: ${html.slice(0, 300)}`);
  const href = new URL(cancel.replace(/&amp;/g, '&'), visited.at(-1)).href;
  return (await browser.follow(href)).response;
}

/** The links of a page's ways on (`ul.actions`), as href → text. */
export function actionsOf(html: string): Map<string, string> {
  const list = /<ul class="actions">(.*?)<\/ul>/s.exec(html)?.[1] ?? '';
  return new Map([...list.matchAll(/<a class="button" href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/** The request id a page shows. */
export function requestIdOf(html: string): string | undefined {
  return /Request id: <code>([^<]*)<\/code>/.exec(html)?.[1];
}

/** The access-log line of the request with this id. */
export function accessLine(stack: Stack, reqId: string): Record<string, unknown> | undefined {
  return stack.gateway.logEntries().find((entry) => entry.msg === 'request' && entry.reqId === reqId);
}

export { parseForms };
