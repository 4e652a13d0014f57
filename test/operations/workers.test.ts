/**
 * server.workers: several processes share the listen port (node:cluster); a worker that dies is replaced;
 * /metrics on metricsListen sums every worker; SIGTERM stops them all and the primary exits 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startCliStack, waitForOutput, type CliStack } from '../helpers/gateway.js';

describe('worker processes', () => {
  let stack: CliStack;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    stack = await startCliStack({
      configure: (c) => (c.server = { ...c.server, workers: 2, metricsListen: `127.0.0.1:${metricsPort}`, shutdownDelay: '100ms' }),
    });
    // Each worker discovers the provider on its own: one that has not yet answers a login with 503.
    const count = (out: string, text: string) => out.split(text).length - 1;
    await waitForOutput(stack.proc, (out) => count(out, 'Server listening') >= 2 && count(out, 'provider metadata loaded') >= 2);
  });
  after(() => stack.close());

  const workerPids = () => new Set(stack.logEntries().filter((e) => e.msg?.toString().startsWith('Server listening')).map((e) => e.pid));

  it('runs the configured number of workers, each serving sign-in and the app', async () => {
    const started = stack.logEntries().find((e) => e.msg === 'started worker processes');
    assert.equal(started?.workers, 2);
    const alice = new BrowserClient();
    const { response } = await alice.login(`${stack.publicUrl}/`, 'alice');
    assert.equal(response?.status, 200);
    for (let i = 0; i < 10; i++) {
      assert.equal((await alice.fetch(`${stack.publicUrl}/n${i}`, { headers: { accept: 'application/json' } })).status, 200);
    }
  });

  it('sums every worker on metricsListen', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const total = [...text.matchAll(/^authgate_http_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    assert.ok(total >= 10, `requests summed over workers: ${total}`);
  });

  it('replaces a worker that dies', async () => {
    const before = stack.logEntries().filter((e) => e.msg === 'worker died; starting another').length;
    const pids = workerPids();
    assert.ok(pids.size >= 1);
    const victim = Number([...pids][0]);
    process.kill(victim, 'SIGKILL');
    await waitForOutput(stack.proc, () => stack.logEntries().filter((e) => e.msg === 'worker died; starting another').length > before);
    await waitForOutput(stack.proc, (out) => out.split('Server listening').length - 1 >= 3);
    assert.equal((await fetch(`${stack.publicUrl}/ping`)).status, 200);
  });

  it('stops every worker on SIGTERM and exits 0', async () => {
    stack.proc.child.kill('SIGTERM');
    assert.equal(await stack.proc.exited, 0);
    assert.ok(stack.logEntries().some((e) => e.msg === 'all workers stopped'));
  });
});
