/**
 * Shared steps for the ID token tests: a login whose ID token the provider alters (idp.tamperNextIdToken),
 * and what a refused one must leave behind: a 4xx page, no session, no request upstream, the failure counted
 * and logged once with its reason but never with a token.
 */
import assert from 'node:assert/strict';
import type { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import type { IdTokenTamper } from '../helpers/idp.js';

/** The value of `authgate_logins_total{outcome}`. */
export async function loginCount(stack: Stack, outcome: string): Promise<number> {
  const text = await (await fetch(`${stack.publicUrl}/metrics`)).text();
  return Number(new RegExp(`authgate_logins_total\\{outcome="${outcome}",provider="(?:default|unknown)"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

/** True when the browser holds a session the gateway accepts. */
export async function signedIn(stack: Stack, browser: BrowserClient): Promise<boolean> {
  const response = await browser.fetch(`${stack.publicUrl}/oauth2/userinfo`, { headers: { accept: 'application/json' } });
  await response.body?.cancel();
  return response.status === 200;
}

/** Signs a new browser in as alice with the next ID token altered as `tamper` says. */
export async function loginWith(stack: Stack, tamper: IdTokenTamper, login = 'alice'): Promise<{ status: number; body: string; browser: BrowserClient }> {
  stack.idp.tamperNextIdToken(tamper);
  const browser = stack.browser();
  const { response } = await browser.login(`${stack.publicUrl}/after-login`, login);
  assert.ok(response);
  return { status: response.status, body: await response.text(), browser };
}

/**
 * Attempts a login with an altered ID token and asserts everything a refused one must show: 400 with the
 * "could not be verified" page, no session cookie and still signed out, the upstream never reached,
 * `authgate_logins_total{outcome="failed",provider="default"}` one higher, and one warn line naming the reason without a JWT.
 */
export async function assertRefusedLogin(stack: Stack, tamper: IdTokenTamper, reason: RegExp): Promise<void> {
  const upstreamBefore = stack.upstream.requests.length;
  const failedBefore = await loginCount(stack, 'failed');
  const logsBefore = stack.gateway.logs.length;
  const { status, body, browser } = await loginWith(stack, tamper);
  assert.equal(status, 400);
  assert.match(body, /The sign-in response could not be verified/);
  assert.equal(browser.jar.get('authgate'), undefined, 'no session cookie was set');
  assert.equal(await signedIn(stack, browser), false, 'the browser is still signed out');
  assert.equal(stack.upstream.requests.length, upstreamBefore, 'the upstream never got a request');
  assert.equal(await loginCount(stack, 'failed'), failedBefore + 1);
  const lines = stack.gateway.logs.slice(logsBefore);
  const failures = lines.filter((line) => line.includes('"login failed"'));
  assert.equal(failures.length, 1, 'one log line for the failed login');
  assert.match(failures[0] ?? '', /"level":"warn"/, 'logged as a warning');
  assert.match(failures[0] ?? '', reason);
  for (const line of lines) assert.doesNotMatch(line, /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./, 'no token in the logs');
}

/** Resolves once `predicate` holds, checking every 20 ms; rejects after `timeoutMs` naming `what`. */
export async function waitUntil(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
