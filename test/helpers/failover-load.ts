/**
 * A steady load of signed-in requests for failover drills: a few workers, each sending one real request
 * after another with a user's session cookie, recording every answer. What a drill asserts on: non-200
 * answers that are not 503, Set-Cookie headers that end the session, and how long 503s lasted.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Cookie } from 'tough-cookie';
import { BrowserClient } from './browser-client.js';

/** A signed-in user's session: the Cookie header its browser sends to the gateway. */
export interface LoadUser {
  login: string;
  /** Which of the login's sessions (one browser each), for reports. */
  label: string;
  cookie: string;
}

/** What the load saw. */
export interface LoadReport {
  total: number;
  ok: number;
  unavailable: number;
  /** Every answer that was neither 200 nor 503, and every request that failed (reset, timeout). */
  failures: string[];
  /** Set-Cookie headers that delete or expire a session cookie. */
  clearedCookies: string[];
  /** When the first and last 503 arrived (ms since the epoch), if any did. */
  first503?: number;
  last503?: number;
  /** The longest any request took (ms): a request held while Redis is away is not a 503 but is felt. */
  slowestMs: number;
}

/** A running load. */
export interface Load {
  /** Resolves once `count` answers in a row were 200, counting from this call (rejects after `timeoutMs`). */
  streak(count: number, timeoutMs: number): Promise<void>;
  /** Stops the workers, waits for the requests in flight, and reports. */
  stop(): Promise<LoadReport>;
}

/** How long one request may take before it counts as a failure (the store gives up far sooner). */
const REQUEST_TIMEOUT_MS = 15_000;

/** Whether a Set-Cookie header deletes or expires a cookie whose name starts with `prefix`. */
function clearsSession(header: string, prefix: string): boolean {
  const cookie = Cookie.parse(header);
  if (!cookie?.key.startsWith(prefix)) return false;
  return cookie.value === '' || cookie.TTL() <= 0;
}

/** Starts `concurrency` workers sending GET `url` round-robin over the users' cookies. */
export function startLoad(options: { url: string; users: LoadUser[]; concurrency: number; cookiePrefix: string }): Load {
  const report: LoadReport = { total: 0, ok: 0, unavailable: 0, failures: [], clearedCookies: [], slowestMs: 0 };
  let running = true;
  let next = 0;
  let inARow = 0;
  let waiter: { count: number; resolve: () => void } | undefined;

  function record(status: number | string, user: LoadUser): void {
    report.total++;
    if (status === 200) {
      report.ok++;
      inARow++;
      if (waiter && inARow >= waiter.count) {
        waiter.resolve();
        waiter = undefined;
      }
      return;
    }
    inARow = 0;
    if (status === 503) {
      report.unavailable++;
      report.first503 ??= Date.now();
      report.last503 = Date.now();
    } else {
      report.failures.push(`${user.label}: ${status}`);
    }
  }

  async function worker(): Promise<void> {
    while (running) {
      const user = options.users[next++ % options.users.length];
      const started = Date.now();
      try {
        const response = await fetch(options.url, {
          headers: { cookie: user.cookie, accept: 'text/html' },
          redirect: 'manual',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        for (const header of response.headers.getSetCookie()) {
          if (clearsSession(header, options.cookiePrefix)) report.clearedCookies.push(`${user.label}: ${header}`);
        }
        report.slowestMs = Math.max(report.slowestMs, Date.now() - started);
        const where = response.headers.get('location');
        record(response.status, where && response.status !== 200 ? { ...user, label: `${user.label} -> ${where}` } : user);
      } catch (err) {
        const cause = (err as Error).cause;
        record(`request failed: ${(err as Error).message}${cause instanceof Error ? ` (${cause.message})` : ''}`, user);
      }
    }
  }

  const workers = Array.from({ length: options.concurrency }, () => worker());
  return {
    streak(count, timeoutMs) {
      inARow = 0;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`no ${count} answers 200 in a row within ${timeoutMs} ms (${JSON.stringify({ ...report, failures: report.failures.slice(0, 5) })})`));
        }, timeoutMs);
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    async stop() {
      running = false;
      await Promise.all(workers);
      return report;
    },
  };
}

/** Signs each login in, each in its own browser, through the real sign-in (provider login and consent). */
export async function signInUsers(publicUrl: string, logins: string[]): Promise<LoadUser[]> {
  const users: LoadUser[] = [];
  for (const [index, login] of logins.entries()) {
    const browser = new BrowserClient();
    const { response } = await browser.login(`${publicUrl}/`, login);
    if (response?.status !== 200) throw new Error(`sign-in as ${login} ended with ${response?.status}`);
    const cookie = browser.jar.cookieHeader(`${publicUrl}/x`);
    if (!cookie) throw new Error(`sign-in as ${login} left no cookie`);
    users.push({ login, label: `${login}#${index}`, cookie });
  }
  return users;
}

/** Generous for a slow, shared 2-core machine: a Redis failover alone takes about 2 s. */
const MAX_503_WINDOW_MS = 30_000;

/**
 * What a failover drill must show afterwards: every answer a 200 or a 503, no session cookie cleared, 503s
 * for a bounded window, and every user still signed in with the cookie they had (the upstream sees them).
 */
export async function assertNobodySignedOut(
  t: TestContext,
  report: LoadReport,
  users: LoadUser[],
  gateway: { publicUrl: string; upstream: { last(): { headers: Record<string, string | string[] | undefined> } | undefined } },
): Promise<void> {
  const window = report.first503 === undefined || report.last503 === undefined ? 0 : report.last503 - report.first503;
  t.diagnostic(`requests ${report.total}: ${report.ok} ok, ${report.unavailable} 503, ${report.failures.length} other; 503 window ${window} ms; slowest request ${report.slowestMs} ms`);
  assert.deepEqual(report.failures, [], 'every answer that was not 200 was a 503');
  assert.deepEqual(report.clearedCookies, [], 'no answer cleared a session cookie');
  assert.ok(window < MAX_503_WINDOW_MS, `503s for ${window} ms`);
  for (const user of users) {
    const response = await fetch(`${gateway.publicUrl}/after`, { headers: { cookie: user.cookie, accept: 'text/html' }, redirect: 'manual' });
    assert.equal(response.status, 200, `${user.label} still signed in with the same cookie`);
    await response.arrayBuffer();
    assert.equal(gateway.upstream.last()?.headers['x-forwarded-user'], user.login);
  }
}
