/**
 * What the session-store scenarios share: the store under test's setup, the keys and cookie names, and
 * reading and asserting the session cookie.
 */
import assert from 'node:assert/strict';
import type { BrowserClient } from '../../helpers/browser-client.js';
import { OTHER_SESSION_KEY, TEST_SESSION_KEY, type ConfigTree } from '../../helpers/gateway.js';
import { bindingOf, sealBoxesFor, type GatewayRef } from '../../helpers/seal.js';

/** How a test file puts one store under the suite. */
export interface SessionStoreSetup {
  /** Points the gateway's configuration at the store (runs before each scenario's own session settings). */
  configure(tree: ConfigTree): void | Promise<void>;
  /** Runs after each scenario's gateway has stopped (e.g. empties Redis). */
  teardown?(): Promise<void>;
  /** True when sessions live in a store every replica shares (Redis), false for stateless cookies. */
  shared: boolean;
}

/** The first session key. */
export const KEY_A = TEST_SESSION_KEY;
/** A second session key. */
export const KEY_B = OTHER_SESSION_KEY;
/** A third session key, unknown to sessions sealed under A or B. */
export const KEY_C = Buffer.alloc(32, 0x77).toString('base64');
/** The session cookie's name. */
export const COOKIE = 'authgate';
/** Headers of an API request. */
export const JSON_ACCEPT = { accept: 'application/json' };
/** startGateway's refreshRetryMs: how long a failed refresh is not retried. */
export const REFRESH_RETRY_MS = 200;
const CLEARED = /Max-Age=0|Expires=Thu, 01 Jan 1970/i;

type Boxes = Awaited<ReturnType<typeof sealBoxesFor>>;
const boxCache = new Map<string, Promise<Boxes>>();
/** The seal boxes of a key list at one gateway (cached: building them registers a fastify plugin). */
export function boxesFor(keys: string[], gateway: GatewayRef): Promise<Boxes> {
  const id = JSON.stringify([keys, bindingOf(gateway)]);
  let boxes = boxCache.get(id);
  if (!boxes) boxCache.set(id, (boxes = sealBoxesFor(keys, gateway)));
  return boxes;
}

/** The session cookie a browser holds, its chunks joined (`authgate`, `authgate_1`, …). */
export function cookieValue(browser: BrowserClient): string | undefined {
  let sealed: string | undefined;
  for (let i = 0; ; i += 1) {
    const part = browser.jar.get(i === 0 ? COOKIE : `${COOKIE}_${i}`)?.value;
    if (part === undefined) return sealed;
    sealed = (sealed ?? '') + part;
  }
}

/** The Set-Cookie of the session cookie in a response, if any. */
export function sessionSetCookie(response: Response): string | undefined {
  return response.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
}

/** Asserts the response does not clear the session cookie. */
export function assertCookieKept(response: Response, why: string): void {
  const set = sessionSetCookie(response);
  assert.ok(set === undefined || !CLEARED.test(set), `${why}: the session cookie must not be cleared (got ${set})`);
}

/** Asserts the response clears the session cookie. */
export function assertCookieCleared(response: Response, why: string): void {
  const set = sessionSetCookie(response);
  assert.ok(set !== undefined && CLEARED.test(set), `${why}: the session cookie is cleared (got ${set ?? 'no Set-Cookie'})`);
}
