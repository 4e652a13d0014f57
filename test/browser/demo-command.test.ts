/**
 * `npm run demo` as a user runs it (the same program: node --import tsx demo/run.ts) on free ports: it prints
 * the banner once the gateway has both providers' metadata, offers Staff and Partners on the branded sign-in
 * page, sends each one-provider route to its provider, answers the banner's admin curl line on 127.0.0.1
 * only, keeps the secrets it was given out of its output, and stops with exit code 0 on Ctrl-C (SIGINT),
 * Redis included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort, ROOT, waitForOutput, type GatewayProcess } from '../helpers/gateway.js';
import { redisAvailable } from '../helpers/redis.js';

const BANNER_END = 'Ctrl-C to stop.';
const EXIT_WITHIN_MS = 5_000;

/** Starts the demo command with its output captured. */
function runDemo(env: Record<string, string>): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/run.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
  child.stderr.on('data', (chunk: Buffer) => (err += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with the exit code, or rejects when the process is still running after `ms`. */
async function exitWithin(proc: GatewayProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGINT; stdout: ${proc.stdout().slice(-2000)}`)), ms);
  });
  try {
    return await Promise.race([proc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('npm run demo (demo/run.ts as a program)', () => {
  let proc: GatewayProcess | undefined;
  after(async () => {
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    // SIGTERM first: the demo then stops the redis-server it started, which SIGKILL would leave running.
    proc.child.kill('SIGTERM');
    await exitWithin(proc, EXIT_WITHIN_MS).catch(() => proc?.child.kill('SIGKILL'));
  });

  it('prints the URL, the logins and the admin lines, serves them, and exits 0 on SIGINT', { timeout: 60_000 }, async () => {
    const [gatewayPort, idpPort, partnersPort, appPort, adminPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const url = `http://127.0.0.1:${gatewayPort}`;
    const secrets = {
      DEMO_CLIENT_SECRET: 'demo-command-test-secret-8c1e7f',
      DEMO_PARTNERS_CLIENT_SECRET: 'demo-command-partners-secret-41d0a2',
      DEMO_SESSION_KEY: Buffer.alloc(32, 0x6b).toString('base64'),
    };
    proc = runDemo({
      DEMO_PORT: String(gatewayPort),
      DEMO_IDP_PORT: String(idpPort),
      DEMO_PARTNERS_PORT: String(partnersPort),
      DEMO_APP_PORT: String(appPort),
      DEMO_ADMIN_PORT: String(adminPort),
      ...secrets,
      LOG_LEVEL: 'info',
    });
    const started = proc;
    await waitForOutput(started, (out) => out.includes(BANNER_END), 30_000);

    const banner = started.stdout();
    assert.ok(banner.includes(`Open ${url}/ in a browser and choose Staff or Partners.`), 'the banner names the URL to open');
    assert.ok(banner.includes(`at Staff (http://127.0.0.1:${idpPort}):`));
    assert.ok(banner.includes(`at Partners (http://127.0.0.1:${partnersPort}):`));
    assert.match(banner, /alice .*admins, staff .*opens \/, \/admin;/);
    assert.match(banner, /bob .*staff .*opens \/; gets 403 on \/admin;/);
    assert.match(banner, /pat .*partners .*opens \/, \/partners; \/admin: sign in at Staff/);
    assert.ok(banner.includes('any password'));
    // The banner comes after the gateway's start-up lines, so it is the last thing on the screen.
    const bannerStart = banner.indexOf('authgate demo is running.');
    for (const provider of ['staff', 'partners']) {
      const loaded = banner.search(new RegExp(`"provider":"${provider}".*"msg":"provider metadata loaded"`));
      assert.ok(loaded >= 0 && loaded < bannerStart, `printed after ${provider}'s metadata loaded`);
    }

    const ping = await fetch(`${url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), 'OK');
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();

    // / accepts both providers: the branded sign-in page with a button for each.
    const home = await fetch(`${url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/oauth2/sign_in?rd=%2F');
    await home.body?.cancel();
    const signIn = await fetch(`${url}/oauth2/sign_in?rd=%2F`);
    assert.equal(signIn.status, 200);
    const page = await signIn.text();
    assert.match(page, /<title>Sign in · Demo Corp Portal<\/title>/, 'demo/pages/sign_in.html, with pages.title');
    assert.deepEqual([...page.matchAll(/data-provider="([^"]+)">([^<]+)</g)].map((m) => `${m[1]}: ${m[2]}`), ['staff: Sign in with Staff', 'partners: Sign in with Partners']);
    const logo = await fetch(`${url}/brand/logo.svg`);
    assert.equal(logo.status, 200, 'the logo is public');
    assert.equal(logo.headers.get('content-type'), 'image/svg+xml');
    await logo.body?.cancel();

    // A one-provider route goes straight to its provider, with the one redirect URI.
    for (const [path, port] of [['/admin', idpPort], ['/partners', partnersPort]] as const) {
      const answer = await fetch(`${url}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      assert.equal(answer.status, 302);
      const location = new URL(answer.headers.get('location') ?? '');
      assert.equal(location.origin, `http://127.0.0.1:${port}`, `${path} goes to its provider`);
      assert.equal(location.searchParams.get('client_id'), 'authgate-demo');
      assert.equal(location.searchParams.get('redirect_uri'), `${url}/oauth2/callback`);
      await answer.body?.cancel();
      const discovery = await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`);
      assert.equal(((await discovery.json()) as { issuer: string }).issuer, `http://127.0.0.1:${port}`);
    }
    const app = await fetch(`http://127.0.0.1:${appPort}/`, { headers: { accept: 'application/json' } });
    assert.equal(((await app.json()) as { user: unknown }).user, null, 'the app reached directly sees no identity');

    // The banner's list line works as printed; the token is needed; only 127.0.0.1 answers.
    const curl = /curl -s -H "Authorization: Bearer ([^"]+)" "([^"]+)"/.exec(banner);
    assert.ok(curl?.[1] && curl[2], 'the banner has the curl line that lists alice\'s sessions');
    const [, token, listUrl] = curl;
    assert.equal(listUrl, `http://127.0.0.1:${adminPort}/admin/sessions?user=alice`);
    assert.ok(banner.includes(`curl -s -X DELETE -H "Authorization: Bearer ${token}" "${listUrl}"`), 'and the one that ends them');
    const listed = await fetch(listUrl, { headers: { authorization: `Bearer ${token}` } });
    if (redisAvailable()) {
      assert.match(banner, /Sessions are kept in Redis \(a redis-server the demo started, redis:\/\/127\.0\.0\.1:\d+\)/);
      assert.equal(listed.status, 200);
      assert.deepEqual(await listed.json(), { sessions: [] });
    } else {
      assert.match(banner, /listing them answers 501: that needs the Redis store \(install\n\s+redis-server/);
      assert.equal(listed.status, 501);
      await listed.body?.cancel();
    }
    const noToken = await fetch(listUrl);
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    // Bound to 127.0.0.1 itself, not to every address: another loopback address finds nothing there.
    assert.equal(await connects('127.0.0.2', adminPort), false, 'the admin API is not on 127.0.0.2');
    assert.equal(await connects('127.0.0.1', adminPort), true);
    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1] ?? 0);

    assert.equal(started.child.kill('SIGINT'), true);
    const code = await exitWithin(started, EXIT_WITHIN_MS);
    assert.equal(code, 0, `exit code; stderr: ${started.stderr()}`);
    if (redisPort) assert.equal(await connects('127.0.0.1', redisPort), false, 'the demo stopped its redis-server');

    const output = started.stdout() + started.stderr();
    for (const [name, secret] of Object.entries(secrets)) assert.ok(!output.includes(secret), `${name} never appears in the output`);
    // stdout is the gateway's JSON lines plus the plain-text banner and the last "demo stopped".
    const nonJson = started
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .filter((line) => {
        try {
          JSON.parse(line);
          return false;
        } catch {
          return true;
        }
      });
    assert.deepEqual(nonJson, [], 'every log line is whole JSON');
    assert.match(started.stdout(), /demo stopped\n$/);
  });
});

/** Whether a TCP connection to host:port is accepted (false when refused). */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
