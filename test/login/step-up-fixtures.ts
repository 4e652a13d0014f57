/**
 * Shared by the step-up tests (test/login/step-up.test.ts, test/security/step-up-attacks.test.ts): a stack
 * whose provider offers acr values (idp-step-up.ts) and whose gateway has a route per kind of rule, and
 * ways to read the session a browser holds and the gateway's step-up counter.
 */
import type { FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { SessionData } from '../../src/session/types.js';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type ConfigTree, type Stack, type StackOptions } from '../helpers/gateway.js';
import { ACR_MFA } from '../helpers/idp-step-up.js';

export { ACR_MFA, ACR_PASSWORD } from '../helpers/idp-step-up.js';

/** `allow.maxAge` of /recent, in seconds. */
export const RECENT_SECONDS = 300;

/** The challenge an API caller gets at /mfa. */
export const MFA_CHALLENGE = `Bearer realm="authgate", error="insufficient_user_authentication", error_description="A stronger sign-in is required", acr_values="${ACR_MFA}"`;
/** The challenge an API caller gets at /recent. */
export const RECENT_CHALLENGE = `Bearer realm="authgate", error="insufficient_user_authentication", error_description="A more recent sign-in is required", max_age=${RECENT_SECONDS}`;

/** The step-up routes in front of the one upstream: /mfa (acr), /recent (maxAge), /both; / has no rule. */
export function withStepUpRoutes(c: ConfigTree): void {
  const url = c.upstreams[0]?.url;
  c.upstreams = [
    { name: 'mfa', path: '/mfa', url, allow: { acr: [ACR_MFA] } },
    { name: 'recent', path: '/recent', url, allow: { maxAge: `${RECENT_SECONDS}s` } },
    { name: 'both', path: '/both', url, allow: { acr: [ACR_MFA], maxAge: '10m' } },
    ...c.upstreams,
  ];
}

/** A stack with step-up at the provider and the step-up routes; `redisUrl` switches to the Redis store. */
export function startStepUpStack(options: StackOptions & { redisUrl?: string; requireAuthTime?: boolean } = {}): Promise<Stack> {
  return startStack({
    ...options,
    idp: { stepUp: { requireAuthTime: options.requireAuthTime ?? true }, ...options.idp },
    configure: (c) => {
      withStepUpRoutes(c);
      if (options.redisUrl) c.session = { ...c.session, store: 'redis', redis: { url: options.redisUrl } };
      options.configure?.(c);
    },
  });
}

/** The session a browser's cookies (or a Cookie header) carry at this gateway, read by the gateway's own store (null: none). */
export async function sessionOf(stack: Stack, browser: BrowserClient | string): Promise<SessionData | null> {
  const cookies = new Map<string, string>();
  const header = typeof browser === 'string' ? browser : (browser.jar.cookieHeader(stack.publicUrl) ?? '');
  for (const pair of header.split('; ')) {
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const request = { authgate: { cookies } } as unknown as FastifyRequest;
  return (await stack.gateway.gateway.services.store.load(request))?.session ?? null;
}

/** The claims of a session's ID token. */
export function idTokenClaims(session: SessionData | null): Record<string, unknown> {
  return decodeJwt(session?.tokens.idToken ?? '');
}

/** The value of authgate_step_ups_total for a result (provider "default"). */
export async function stepUps(stack: Stack, result: string): Promise<number> {
  const metric = await stack.gateway.gateway.services.metrics.registry.getSingleMetric('authgate_step_ups_total')?.get();
  return metric?.values.find((v) => v.labels.result === result && v.labels.provider === 'default')?.value ?? 0;
}

/** Where a 302 goes, as a URL. */
export function locationOf(response: Response): URL {
  return new URL(response.headers.get('location') ?? '', 'http://invalid/');
}
