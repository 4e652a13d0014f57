/**
 * `npm run demo` as a user runs it (the same program: node --import tsx demo/run.ts) on free ports: it prints
 * the banner once the gateway is ready, serves /ping and sends a signed-out browser to the provider, keeps
 * the secrets it was given out of its output, and stops with exit code 0 on Ctrl-C (SIGINT).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { freePort, ROOT, waitForOutput, type GatewayProcess } from '../helpers/gateway.js';

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
  after(() => {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  });

  it('prints the URL and the logins, serves the gateway, and exits 0 on SIGINT', { timeout: 60_000 }, async () => {
    const [gatewayPort, idpPort, appPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const url = `http://127.0.0.1:${gatewayPort}`;
    const secret = 'demo-command-test-secret-8c1e7f';
    const sessionKey = Buffer.alloc(32, 0x6b).toString('base64');
    proc = runDemo({
      DEMO_PORT: String(gatewayPort),
      DEMO_IDP_PORT: String(idpPort),
      DEMO_APP_PORT: String(appPort),
      DEMO_CLIENT_SECRET: secret,
      DEMO_SESSION_KEY: sessionKey,
      LOG_LEVEL: 'info',
    });
    const started = proc;
    await waitForOutput(started, (out) => out.includes(BANNER_END), 30_000);

    const banner = started.stdout();
    assert.ok(banner.includes(`Open ${url}/`), 'the banner names the URL to open');
    assert.match(banner, /alice .*admins.*can open \/admin/);
    assert.match(banner, /bob .*staff.*403 on \/admin/);
    assert.ok(banner.includes('any password'));
    // The banner comes after the gateway's start-up lines, so it is the last thing on the screen.
    const bannerStart = banner.indexOf('authgate demo is running.');
    assert.ok(banner.indexOf('provider metadata loaded') < bannerStart, 'printed after the gateway is ready');

    const ping = await fetch(`${url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), 'OK');

    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();

    const home = await fetch(`${url}/`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(home.status, 302);
    const location = new URL(home.headers.get('location') ?? '');
    assert.equal(location.origin, `http://127.0.0.1:${idpPort}`);
    assert.equal(location.searchParams.get('client_id'), 'authgate-demo');
    assert.equal(location.searchParams.get('redirect_uri'), `${url}/oauth2/callback`);
    await home.body?.cancel();

    // The provider and the legacy app listen where the environment said.
    const discovery = await fetch(`http://127.0.0.1:${idpPort}/.well-known/openid-configuration`);
    assert.equal(((await discovery.json()) as { issuer: string }).issuer, `http://127.0.0.1:${idpPort}`);
    const app = await fetch(`http://127.0.0.1:${appPort}/`, { headers: { accept: 'application/json' } });
    assert.equal(((await app.json()) as { user: unknown }).user, null, 'the app reached directly sees no identity');

    assert.equal(started.child.kill('SIGINT'), true);
    const code = await exitWithin(started, EXIT_WITHIN_MS);
    assert.equal(code, 0, `exit code; stderr: ${started.stderr()}`);

    const output = started.stdout() + started.stderr();
    assert.ok(!output.includes(secret), 'the client secret never appears in the output');
    assert.ok(!output.includes(sessionKey), 'the session key never appears in the output');
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
