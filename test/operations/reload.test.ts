/**
 * Config reload on a change of the file and on SIGHUP: a valid file replaces upstreams and policy without
 * dropping a request in flight or a session; an invalid one is logged and the running config stays; a change
 * to a section that needs a restart is named in the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { startCliStack, waitForOutput, type CliStack, type ConfigTree } from '../helpers/gateway.js';

const clone = (tree: ConfigTree): ConfigTree => structuredClone(tree);

describe('config reload', () => {
  let stack: CliStack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startCliStack({
      configure: (c) => {
        c.upstreams.unshift({ name: 'admin', path: '/admin', url: c.upstreams[0]?.url, allow: { groups: ['nobody'] } });
      },
    });
    alice = new BrowserClient();
    const { response } = await alice.login(`${stack.publicUrl}/`, 'alice');
    assert.equal(response?.status, 200);
  });
  after(() => stack.close());

  const reloads = () => stack.logEntries().filter((e) => String(e.msg).startsWith('configuration reload')).length;
  const waitForReloadLine = (count: number) =>
    waitForOutput(stack.proc, () => reloads() >= count, 10_000);
  const api = (path: string) => alice.fetch(`${stack.publicUrl}${path}`, { headers: { accept: 'application/json' } });

  it('applies a changed file: new policy at once, the session kept, a slow request in flight completes', async () => {
    assert.equal((await api('/admin/x')).status, 403, 'alice is not in group nobody');
    const held = stack.upstream.hold('/slow/report'); // in flight until released, after the reload
    const slow = api('/slow/report');
    await held.arrived;
    const next = clone(stack.tree);
    const admin = next.upstreams.find((u) => u.name === 'admin');
    assert.ok(admin);
    admin.allow = { groups: ['admins'] };
    const before = reloads();
    stack.writeTo(next);
    await waitForReloadLine(before + 1);
    assert.equal((await api('/admin/x')).status, 200, 'the new policy lets admins in');
    held.release();
    assert.equal((await slow).status, 200, 'the request in flight during the reload completed');
    stack.tree = next;
  });

  it('keeps the running configuration when the new file is invalid, and says why', async () => {
    const before = reloads();
    stack.writeTo({ ...clone(stack.tree), upstreams: [{ name: 'broken', url: 'not a url' }] });
    await waitForReloadLine(before + 1);
    const failure = stack.logEntries().findLast((e) => e.msg === 'configuration reload failed; keeping the running configuration');
    assert.ok(failure, 'the failure is logged');
    assert.match(JSON.stringify(failure.problems), /upstreams\[0\]\.url/);
    assert.equal((await api('/admin/x')).status, 200, 'the previous (valid) policy still applies');
  });

  it('reloads on SIGHUP, and names sections that need a restart', async () => {
    const next = clone(stack.tree);
    next.session.idleTimeout = '2h';
    next.upstreams = next.upstreams.filter((u) => u.name !== 'admin');
    stack.writeTo(next);
    const before = reloads();
    stack.proc.child.kill('SIGHUP');
    await waitForReloadLine(before + 1);
    await waitForOutput(stack.proc, (out) => out.includes('need a restart'), 5_000);
    const warning = stack.logEntries().findLast((e) => String(e.msg).includes('need a restart'));
    assert.deepEqual(warning?.sections, ['session']);
    assert.equal((await api('/admin/x')).status, 200, 'the admin route is gone: /admin/x now goes to the open app route');
    assert.equal(stack.upstream.last()?.headers['x-forwarded-user'], 'alice');
  });
});
