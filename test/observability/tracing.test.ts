/**
 * OpenTelemetry tracing through a real gateway, provider, upstream and OTLP/HTTP receiver: a proxied request
 * is one trace (request → guard, request → upstream call) whose context reaches the upstream as
 * `traceparent`; a login has provider spans; no span carries a token, cookie or email; a client's own
 * traceparent is continued only from a trusted proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_SECRET, type Stack } from '../helpers/gateway.js';
import { startOtlpReceiver, type ReceivedSpan, type StartedOtlpReceiver } from '../helpers/otlp-receiver.js';

// The batch processor's delay, read from the standard variable when the gateway starts: spans arrive soon.
process.env.OTEL_BSP_SCHEDULE_DELAY = '20';

const SERVER = 2;
const CLIENT = 3;
const CLIENT_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The spans of the trace whose server span has this url.path, once its upstream call has arrived too. */
function traceOf(path: string): (spans: ReceivedSpan[]) => ReceivedSpan[] | undefined {
  return (spans) => {
    const server = spans.find((s) => s.kind === SERVER && s.attributes['url.path'] === path);
    if (!server) return undefined;
    const trace = spans.filter((s) => s.traceId === server.traceId);
    return trace.some((s) => s.kind === CLIENT && s.parentSpanId === server.spanId) && trace.some((s) => s.name === 'guard') ? trace : undefined;
  };
}

describe('tracing', () => {
  let receiver: StartedOtlpReceiver;
  let stack: Stack;
  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      configure: (tree) => {
        tree.tracing = { otlpEndpoint: receiver.url, serviceName: 'gateway-under-test' };
      },
    });
  });
  after(async () => {
    await stack.close();
    await receiver.close();
  });

  it('makes a proxied request one trace: request, guard and upstream call, the upstream told its span', async () => {
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/traced/one?q=secret-query`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    const trace = await receiver.waitFor(traceOf('/traced/one'), 'trace of /traced/one');
    const server = trace.find((s) => s.kind === SERVER) as ReceivedSpan;
    assert.equal(server.parentSpanId, '', 'the request starts its own trace');
    assert.equal(server.name, 'GET app');
    assert.equal(server.resource['service.name'], 'gateway-under-test');
    assert.deepEqual(
      [server.attributes['http.request.method'], server.attributes['url.path'], server.attributes['http.response.status_code'], server.attributes['authgate.upstream'], server.attributes['user.id']],
      ['GET', '/traced/one', 200, 'app', 'alice'],
    );
    const guard = trace.find((s) => s.name === 'guard') as ReceivedSpan;
    assert.equal(guard.parentSpanId, server.spanId);
    assert.equal(guard.attributes['authgate.guard.allowed'], true);
    const call = trace.find((s) => s.kind === CLIENT && s.parentSpanId === server.spanId) as ReceivedSpan;
    assert.equal(call.attributes['url.full'], `${stack.upstream.url}/traced/one`, 'the URL without its query');
    assert.equal(call.attributes['http.response.status_code'], 200);

    const seen = stack.upstream.requests.find((r) => r.url.startsWith('/traced/one'));
    assert.equal(seen?.headers.traceparent, `00-${server.traceId}-${call.spanId}-01`);
    assert.equal(seen?.headers.tracestate, undefined);
  });

  it('gives a login its provider spans: the code grant and its call to the token endpoint', async () => {
    await stack.signIn('bob');
    const metadata = (await (await fetch(`${stack.idp.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    const [callback, grant, tokenCall] = await receiver.waitFor((spans) => {
      for (const callback of spans.filter((s) => s.name === 'GET /oauth2/callback')) {
        const grant = spans.find((s) => s.name === 'oidc code_grant' && s.parentSpanId === callback.spanId);
        const tokenCall = grant && spans.find((s) => s.parentSpanId === grant.spanId && s.attributes['url.full'] === metadata.token_endpoint);
        if (tokenCall) return [callback, grant, tokenCall];
      }
      return undefined;
    }, 'callback → code grant → token endpoint');
    assert.equal(grant?.traceId, callback?.traceId);
    assert.equal(tokenCall?.kind, CLIENT);
    assert.equal(tokenCall?.attributes['http.request.method'], 'POST');
    assert.equal(tokenCall?.attributes['http.response.status_code'], 200);
    assert.ok(receiver.spans.some((s) => s.name === 'oidc discovery'), 'discovery at start-up has its span');
  });

  it('marks the guard of a signed-out request as not allowing it', async () => {
    const response = await fetch(`${stack.publicUrl}/traced/signed-out`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 401);
    const [server, guard] = await receiver.waitFor((spans) => {
      const found = spans.find((s) => s.kind === SERVER && s.attributes['url.path'] === '/traced/signed-out');
      const guard = found && spans.find((s) => s.name === 'guard' && s.parentSpanId === found.spanId);
      return guard ? [found, guard] : undefined;
    }, 'spans of /traced/signed-out');
    assert.equal(server?.attributes['http.response.status_code'], 401);
    assert.equal(server?.attributes['user.id'], undefined);
    assert.equal(guard?.attributes['authgate.guard.allowed'], false);
    assert.ok(!receiver.spans.some((s) => s.kind === CLIENT && s.traceId === server?.traceId), 'no upstream call');
  });

  it('never exports a token, a cookie, an email or the client secret', async () => {
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/traced/secrets`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    await receiver.waitFor(traceOf('/traced/secrets'), 'trace of /traced/secrets');
    const seen = stack.upstream.requests.find((r) => r.url === '/traced/secrets');
    const accessToken = String(seen?.headers.authorization).replace(/^Bearer /, '');
    assert.ok(accessToken.length > 20, 'the upstream got an access token');
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    const cookieValue = cookie.split('=').slice(1).join('=');
    assert.ok(cookieValue.length > 20, 'the browser holds a session cookie');
    const exported = receiver.bodies.join('\n');
    for (const [what, secret] of [
      ['access token', accessToken],
      ['session cookie', cookieValue],
      ['email', 'alice@example.com'],
      ['client secret', TEST_CLIENT_SECRET],
      ['query string', 'secret-query'],
    ] as const) {
      assert.ok(!exported.includes(secret), `the ${what} was exported`);
    }
  });

  it('does not continue a traceparent from an untrusted client, and replaces it (and its tracestate) upstream', async () => {
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/traced/untrusted`, {
      headers: { accept: 'application/json', traceparent: CLIENT_TRACEPARENT, tracestate: 'vendor=client' },
    });
    assert.equal(response.status, 200);
    const trace = await receiver.waitFor(traceOf('/traced/untrusted'), 'trace of /traced/untrusted');
    const server = trace.find((s) => s.kind === SERVER) as ReceivedSpan;
    assert.notEqual(server.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(server.parentSpanId, '');
    assert.equal(trace.find((s) => s.name === 'guard')?.attributes['authgate.guard.allowed'], true);
    const seen = stack.upstream.requests.find((r) => r.url === '/traced/untrusted');
    assert.match(String(seen?.headers.traceparent), new RegExp(`^00-${server.traceId}-[0-9a-f]{16}-01$`));
    assert.equal(seen?.headers.tracestate, undefined);
  });
});

describe('tracing behind a trusted proxy', () => {
  let receiver: StartedOtlpReceiver;
  let stack: Stack;
  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      configure: (tree) => {
        tree.server.trustedProxies = ['127.0.0.1'];
        tree.tracing = { otlpEndpoint: `${receiver.url}/v1/traces` };
        tree.upstreams = tree.upstreams.map((upstream) => ({ ...upstream, auth: 'public' as const }));
      },
    });
  });
  after(async () => {
    await stack.close();
    await receiver.close();
  });

  it("continues the proxy's trace, and passes its tracestate on", async () => {
    const response = await fetch(`${stack.publicUrl}/continued`, { headers: { traceparent: CLIENT_TRACEPARENT, tracestate: 'vendor=proxy' } });
    assert.equal(response.status, 200);
    const [server] = await receiver.waitFor((spans) => {
      const found = spans.find((s) => s.kind === SERVER && s.attributes['url.path'] === '/continued');
      return found ? [found] : undefined;
    }, 'server span of /continued');
    assert.equal(server?.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(server?.parentSpanId, 'b7ad6b7169203331');
    const seen = stack.upstream.requests.find((r) => r.url === '/continued');
    assert.match(String(seen?.headers.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.equal(seen?.headers.tracestate, 'vendor=proxy');
  });
});
