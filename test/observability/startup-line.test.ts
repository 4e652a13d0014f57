/**
 * The start-up line: one info line once the gateway listens, naming the version, the listen and /metrics
 * addresses, the store, the provider and the upstreams (upstream URLs without credentials or query). With
 * workers the primary writes it once, when every worker listens.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { freePort, ROOT, startCliStack, TEST_CLIENT_SECRET, waitForOutput, type CliStack } from '../helpers/gateway.js';

const VERSION = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version;
const MESSAGE = 'authgate started';

describe('start-up line, one process', () => {
  let stack: CliStack;
  let metricsPort: number;
  before(async () => {
    metricsPort = await freePort();
    stack = await startCliStack({
      configure: (c) => {
        c.server = { ...c.server, metricsListen: `127.0.0.1:${metricsPort}` };
        const url = new URL(c.upstreams[0]?.url ?? '');
        c.upstreams.push({ name: 'reports', path: '/reports', host: 'Reports.Example.test', url: `http://someone:pa55word@${url.host}/base/?k=secret-query` });
      },
    });
  });
  after(() => stack.close());

  it('names the version, the addresses, the store, the provider and the upstreams, once', async () => {
    const lines = stack.logEntries().filter((e) => e.msg === MESSAGE);
    assert.equal(lines.length, 1);
    const line = lines[0] ?? {};
    assert.equal(line.level, 'info');
    assert.equal(line.version, VERSION);
    assert.equal(line.node, process.version);
    assert.equal(line.listen, new URL(stack.publicUrl).host);
    assert.equal(line.metrics, `127.0.0.1:${metricsPort}`);
    assert.equal(line.store, 'cookie');
    assert.equal(line.issuer, stack.idp.issuer);
    assert.equal(line.publicUrl, stack.publicUrl);
    assert.deepEqual(line.upstreams, [
      { name: 'app', path: '/', url: `${stack.upstream.url}/` },
      { name: 'reports', path: '/reports', host: 'reports.example.test', url: `http://${new URL(stack.upstream.url).host}/base/` },
    ]);
    const text = stack.proc.stdout();
    for (const secret of ['pa55word', 'secret-query', TEST_CLIENT_SECRET]) assert.ok(!text.includes(secret), `${secret} is not logged`);
  });
});

describe('start-up line, workers', () => {
  let stack: CliStack;
  before(async () => {
    stack = await startCliStack({ configure: (c) => (c.server = { ...c.server, workers: 2 }) });
    await waitForOutput(stack.proc, (out) => out.includes(MESSAGE));
  });
  after(() => stack.close());

  it('is written once, by the primary, when every worker listens', async () => {
    stack.proc.child.kill('SIGTERM');
    assert.equal(await stack.proc.exited, 0);
    const entries = stack.logEntries();
    // Every line is out once the processes have exited (each batches its stdout).
    assert.equal(entries.filter((e) => e.msg?.toString().startsWith('Server listening')).length, 2, 'both workers listened');
    const lines = entries.filter((e) => e.msg === MESSAGE);
    assert.equal(lines.length, 1);
    const primary = entries.find((e) => e.msg === 'started worker processes')?.pid;
    assert.equal(lines[0]?.pid, primary);
    assert.equal(lines[0]?.workers, 2);
    assert.equal(lines[0]?.listen, new URL(stack.publicUrl).host);
    assert.equal(lines[0]?.metrics, new URL(stack.publicUrl).host, 'without metricsListen, /metrics is on listen');
  });
});
