/**
 * The spans not exported yet leave with the SIGTERM drain: the real command, a batch delay far longer than
 * the test, one request, SIGTERM; the receiver gets the request's span and the gateway exits 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCliStack, type CliStack } from '../helpers/gateway.js';
import { startOtlpReceiver, type StartedOtlpReceiver } from '../helpers/otlp-receiver.js';

describe('tracing at shutdown', () => {
  let receiver: StartedOtlpReceiver;
  let stack: CliStack;
  before(async () => {
    receiver = await startOtlpReceiver();
    // The child inherits it: without the flush at shutdown, no batch would be sent while the test runs.
    process.env.OTEL_BSP_SCHEDULE_DELAY = '3600000';
    stack = await startCliStack({
      configure: (tree) => {
        tree.tracing = { otlpEndpoint: receiver.url };
      },
    });
  });
  after(async () => {
    await stack.close();
    await receiver.close();
  });

  it('exports the spans still batched when SIGTERM drains the gateway', async () => {
    assert.equal((await fetch(`${stack.publicUrl}/ping`)).status, 200);
    assert.equal(receiver.spans.length, 0, 'nothing exported before the shutdown');
    stack.proc.child.kill('SIGTERM');
    const [ping] = await receiver.waitFor((spans) => {
      const found = spans.find((s) => s.name === 'GET /ping');
      return found ? [found] : undefined;
    }, 'span of GET /ping');
    assert.equal(ping?.attributes['http.response.status_code'], 200);
    assert.equal(await stack.proc.exited, 0);
  });
});
