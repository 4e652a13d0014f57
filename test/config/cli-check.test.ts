/**
 * `authgate --check` through the real command: 0 and one line on stdout for a valid file, 1 and every
 * problem on stderr for a bad one, one clear line for a missing file, usage for a bad command line, and no
 * network at all while checking.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { runCli, TEST_SESSION_KEY, type GatewayProcess } from '../helpers/gateway.js';
import { minimalTree } from './fixtures.js';

/** The environment config/example.yaml needs. */
const EXAMPLE_ENV = { OIDC_CLIENT_SECRET: 'example-client-secret', SESSION_KEY: TEST_SESSION_KEY };
/** A variable set to "" counts as unset for the command, whatever the test runner's own environment holds. */
const NO_CONFIG_ENV = { AUTHGATE_CONFIG: '' };

/** The exit code; a child still running after `limitMs` is killed, so a hanging --check fails the test instead of stalling it. */
async function exitCode(proc: GatewayProcess, limitMs = 30_000): Promise<number | null> {
  const guard = setTimeout(() => proc.child.kill('SIGKILL'), limitMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(guard);
  }
}

/** Asserts that stderr holds no stack-trace frame. */
function assertNoStackTrace(stderr: string): void {
  assert.ok(!/^\s+at /m.test(stderr), `stderr has a stack trace:\n${stderr}`);
}

describe('authgate --check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const writeConfig = (name: string, content: Record<string, unknown> | string) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : stringify(content));
    return path;
  };

  it('accepts config/example.yaml: exit 0, one line on stdout, nothing on stderr', async () => {
    const proc = runCli(['--config', 'config/example.yaml', '--check'], { ...EXAMPLE_ENV, ...NO_CONFIG_ENV });
    assert.equal(await exitCode(proc), 0, proc.stderr());
    assert.equal(proc.stdout(), 'config/example.yaml: configuration is valid (5 upstreams)\n');
    assert.equal(proc.stderr(), '');
  });

  it('refuses a bad configuration: exit 1, every problem on stderr, no stack trace', async () => {
    const tree = minimalTree();
    tree.server.publicUrl = 'https://app.example.com/sub';
    tree.oidc.issuer = 'http://idp.example.com';
    tree.session.keys = ['short'];
    tree.upstreams.push({ name: 'app', url: 'not a url', timeout: 'forever' });
    const file = writeConfig('bad.yaml', tree);
    const proc = runCli(['--config', file, '--check']);
    assert.equal(await exitCode(proc), 1);
    const stderr = proc.stderr();
    const [header, ...lines] = stderr.trimEnd().split('\n');
    assert.equal(header, `authgate: invalid configuration ${file}: 7 problems`);
    assert.deepEqual(
      new Set(lines.map((line) => line.slice(0, line.indexOf(': ')))),
      new Set(['  server.publicUrl', '  oidc.issuer', '  session.keys[0]', '  upstreams[1].name', '  upstreams[1].path', '  upstreams[1].url', '  upstreams[1].timeout']),
    );
    assertNoStackTrace(stderr);
    assert.equal(proc.stdout(), '');
  });

  it('refuses a file with bad YAML syntax in one line', async () => {
    const file = writeConfig('syntax.yaml', 'server: [\n');
    const proc = runCli(['--config', file, '--check']);
    assert.equal(await exitCode(proc), 1);
    assert.match(proc.stderr(), /^authgate: invalid configuration .*syntax\.yaml: YAML syntax: .*\n$/);
    assertNoStackTrace(proc.stderr());
  });

  it('refuses a missing file with one clear line', async () => {
    const missing = join(dir, 'does-not-exist.yaml');
    const proc = runCli(['--config', missing, '--check']);
    assert.equal(await exitCode(proc), 1);
    assert.equal(proc.stderr(), `authgate: invalid configuration ${missing}: cannot read the file: no such file\n`);
    assert.equal(proc.stdout(), '');
  });

  it('without --config or AUTHGATE_CONFIG: exit 1 and the usage', async () => {
    const proc = runCli(['--check'], NO_CONFIG_ENV);
    assert.equal(await exitCode(proc), 1);
    assert.match(proc.stderr(), /^authgate: no configuration: pass --config FILE or set AUTHGATE_CONFIG\n/);
    assert.match(proc.stderr(), /Usage: authgate --config FILE \[--check\]/);
    assertNoStackTrace(proc.stderr());
  });

  it('reads the file named by AUTHGATE_CONFIG', async () => {
    const file = writeConfig('from-env.yaml', minimalTree());
    const proc = runCli(['--check'], { AUTHGATE_CONFIG: file });
    assert.equal(await exitCode(proc), 0, proc.stderr());
    assert.equal(proc.stdout(), `${file}: configuration is valid (1 upstream)\n`);
  });

  it('prefers --config over AUTHGATE_CONFIG', async () => {
    const good = writeConfig('preferred.yaml', minimalTree());
    const proc = runCli(['--config', good, '--check'], { AUTHGATE_CONFIG: join(dir, 'not-this-one.yaml') });
    assert.equal(await exitCode(proc), 0, proc.stderr());
    assert.equal(proc.stdout(), `${good}: configuration is valid (1 upstream)\n`);
  });

  it('contacts nothing: a provider and upstream nobody listens on still check as valid', async () => {
    const tree = minimalTree();
    tree.oidc.issuer = 'https://127.0.0.1:1';
    tree.upstreams[0].url = 'http://127.0.0.1:1';
    tree.session.store = 'redis';
    tree.session.redis = { url: 'redis://127.0.0.1:1' };
    tree.upstreams[0].allow = { emailDomains: ['example.com'] };
    const file = writeConfig('offline.yaml', tree);
    const proc = runCli(['--config', file, '--check']);
    // Discovery retries with backoff: a --check that tried the network would hang until the guard kills it.
    assert.equal(await exitCode(proc, 15_000), 0, proc.stderr());
    assert.equal(proc.stderr(), '');
  });

  it('--version prints the installed version and exits 0, with no configuration needed', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const proc = runCli(['--version'], NO_CONFIG_ENV);
    assert.equal(await exitCode(proc), 0);
    assert.equal(proc.stdout(), `authgate ${version}\n`);
    assert.equal(proc.stderr(), '');
  });

  it('refuses an unknown flag with exit 1 and the usage', async () => {
    const proc = runCli(['--config', 'config/example.yaml', '--chek'], EXAMPLE_ENV);
    assert.equal(await exitCode(proc), 1);
    assert.match(proc.stderr(), /^authgate: Unknown option '--chek'/);
    assert.match(proc.stderr(), /Usage: authgate --config FILE \[--check\]/);
    assertNoStackTrace(proc.stderr());
  });
});
