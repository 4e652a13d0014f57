/**
 * What `authgate --check` warns about in a valid file (stderr, exit 0): a route any signed-in user of the
 * provider may pass although nothing says so on purpose, and upstream paths the gateway's own paths hide.
 * The running gateway logs the same lines at start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { runCli } from '../helpers/gateway.js';
import { startStack } from '../helpers/gateway.js';
import { minimalTree } from './fixtures.js';

const URL_A = 'http://127.0.0.1:3000';

describe('authgate --check warnings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-warn-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs --check on a tree; the exit code, stdout and the warning lines of stderr. */
  async function check(tree: Record<string, unknown>): Promise<{ code: number | null; stdout: string; warnings: string[] }> {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(tree));
    const proc = runCli(['--config', file, '--check']);
    const code = await proc.exited;
    return { code, stdout: proc.stdout(), warnings: proc.stderr().split('\n').filter((l) => l !== '') };
  }

  it('warns about a route that admits every signed-in user, and only that one', async () => {
    const tree = minimalTree();
    tree.upstreams.push(
      { name: 'open', path: '/open', url: URL_A, allow: {} },
      { name: 'optional', path: '/home', url: URL_A, auth: 'optional' },
      { name: 'meant', path: '/meant', url: URL_A, allow: { anyAuthenticatedUser: true } },
      { name: 'public', path: '/static', url: URL_A, auth: 'public' },
      { name: 'ruled', path: '/ruled', url: URL_A, allow: { claims: { department: 'it' } } },
    );
    const { code, stdout, warnings } = await check(tree);
    assert.equal(code, 0);
    assert.match(stdout, /configuration is valid \(6 upstreams\)/);
    const hint = 'admits every signed-in user of the provider: give allow.emailDomains, emails, groups or claims (here or in defaults.allow), or say so on purpose with allow.anyAuthenticatedUser: true';
    assert.deepEqual(warnings, [
      `authgate: warning: upstreams[0].allow: "app" ${hint}`,
      `authgate: warning: upstreams[1].allow: "open" ${hint}`,
      `authgate: warning: upstreams[2].allow: "optional" ${hint}`,
    ]);
  });

  it('is quiet when defaults.allow gives every route a rule', async () => {
    const tree = minimalTree();
    tree.defaults = { allow: { emailDomains: ['example.com'] } };
    tree.upstreams.push({ name: 'b', path: '/b', url: URL_A });
    assert.deepEqual((await check(tree)).warnings, []);
  });

  it('warns when defaults make every route public', async () => {
    const tree = minimalTree();
    tree.defaults = { auth: 'public' };
    assert.deepEqual((await check(tree)).warnings, [
      'authgate: warning: defaults.auth: public makes every upstream that does not set auth itself reachable without signing in; set auth: public on the routes meant to be public instead',
    ]);
  });

  it('warns about upstream paths the gateway answers itself', async () => {
    const tree = minimalTree();
    tree.defaults = { allow: { groups: ['staff'] } };
    tree.upstreams.push(
      { name: 'under', path: '/oauth2/app', url: URL_A },
      { name: 'tree', path: '/oauth2', url: URL_A },
      { name: 'ping', path: '/ping', url: URL_A },
      { name: 'metrics', path: '/metrics/', url: URL_A },
      { name: 'fine', path: '/oauth', url: URL_A },
      { name: 'fine2', path: '/pings', url: URL_A },
    );
    const { code, warnings } = await check(tree);
    assert.equal(code, 0);
    assert.deepEqual(warnings, [
      'authgate: warning: upstreams[1].path: "/oauth2/app" is under /oauth2/, which the gateway answers itself: no request reaches this upstream',
      'authgate: warning: upstreams[2].path: "/oauth2" reaches this upstream only as "/oauth2" itself: the gateway answers every path under /oauth2/',
      'authgate: warning: upstreams[3].path: "/ping" itself is the gateway\'s /ping; only paths below it reach this upstream',
      'authgate: warning: upstreams[4].path: "/metrics/" itself is the gateway\'s /metrics; only paths below it reach this upstream',
    ]);
  });

  it('logs the same warnings when the gateway starts', async () => {
    const stack = await startStack({ configure: (c) => c.upstreams.push({ name: 'hidden', path: '/oauth2/x', url: c.upstreams[0]?.url, allow: { groups: ['a'] } }) });
    try {
      const warnings = stack.gateway.logEntries().filter((e) => e.msg === 'configuration warning').map((e) => String(e.warning));
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.match(warnings[0] ?? '', /^upstreams\[0\]\.allow: "app" admits every signed-in user/);
      assert.match(warnings[1] ?? '', /^upstreams\[1\]\.path: "\/oauth2\/x" is under \/oauth2\//);
    } finally {
      await stack.close();
    }
  });
});
