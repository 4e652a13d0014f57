/**
 * A WebSocket upgrade through a traced gateway: the upstream's upgrade request carries the request span's
 * traceparent (in place of the client's), and the span is exported once the connection ends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { startOtlpReceiver, type StartedOtlpReceiver } from '../helpers/otlp-receiver.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from '../proxy/ws-fixtures.js';

process.env.OTEL_BSP_SCHEDULE_DELAY = '20';

describe('tracing a WebSocket upgrade', () => {
  let receiver: StartedOtlpReceiver;
  let wsUpstream: RecordingWsUpstream;
  let stack: Stack;
  before(async () => {
    receiver = await startOtlpReceiver();
    wsUpstream = await startRecordingWsUpstream();
    stack = await startStack({
      configure: (tree) => {
        tree.tracing = { otlpEndpoint: receiver.url };
        tree.upstreams = [{ name: 'live', path: '/', url: wsUpstream.url, auth: 'public' }];
      },
    });
  });
  after(async () => {
    await stack.close();
    await Promise.all([receiver.close(), wsUpstream.close()]);
  });

  it("sends the request span's traceparent upstream with the upgrade", async () => {
    const upgrade = wsUpstream.nextUpgrade();
    const opened = await openWebSocket(`${stack.publicUrl.replace('http:', 'ws:')}/socket`, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=client',
    });
    assert.equal(await opened.echo('hello'), 'hello');
    const headers = await upgrade;
    opened.ws.close();
    const [server] = await receiver.waitFor((spans) => {
      const found = spans.find((s) => s.kind === 2 && s.attributes['url.path'] === '/socket');
      return found ? [found] : undefined;
    }, 'server span of the upgrade');
    assert.equal(headers.traceparent, `00-${server?.traceId}-${server?.spanId}-01`);
    assert.equal(headers.tracestate, undefined);
  });
});
