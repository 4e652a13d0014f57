/**
 * examples/sidecar.yaml can turn Ready: no cluster runs here, so the rendered pod is read the way the
 * kubelet and the gateway would use it. Each probe targets the pod's IP, so it must hit a port something
 * listens on outside loopback; a probe through authgate must take a public route (a 302 to the sign-in
 * counts as success for an httpGet probe and would prove nothing) to where the app listens; and every
 * upstream points where the app listens.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configOf, envVar, example, gateway, helm, one, portOf, scenarioRenderer, type Container, type Deployment } from './chart-fixtures.js';

/** A probe as the kubelet runs it. */
interface KubeletProbe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  exec?: { command: string[] };
}
/** Something listening in the pod. */
interface Listener {
  container: string;
  host: string;
  port: number;
}
/** An upstream, as far as routing reads it. */
interface Upstream {
  name: string;
  path?: string;
  url?: string;
  auth?: string;
}

const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

/** A "host:port" split. */
function hostPort(listen: string): { host: string; port: number } {
  return { host: listen.slice(0, listen.lastIndexOf(':')), port: portOf(listen) };
}

/** The number a probe's port means: a number, or the name of one of its container's ports. */
function probePort(container: Container, port: string | number): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  assert.ok(named, `${container.name}: the probe names port "${port}", which the container does not declare`);
  return named.containerPort;
}

/** The upstream the gateway routes `path` to: the longest matching prefix (at a segment boundary). */
function route(upstreams: Upstream[], path: string): Upstream | undefined {
  const matches = upstreams.filter((u) => {
    const prefix = (u.path ?? '/').replace(/\/$/, '');
    return path === prefix || path.startsWith(`${prefix}/`) || prefix === '';
  });
  return matches.sort((a, b) => (b.path ?? '/').length - (a.path ?? '/').length)[0];
}

describe('examples/sidecar.yaml can turn Ready', { skip: helm.available ? false : helm.reason }, () => {
  const render = scenarioRenderer();

  it("every probe reaches a listener on the pod's IP: authgate's /ready and /ping on its port, the app's health through a public route", async () => {
    const objects = await render(example('sidecar.yaml'));
    const config = configOf(objects) as ReturnType<typeof configOf> & { upstreams: Upstream[] };
    const deployment = one<Deployment>(objects, 'Deployment');
    const authgate = gateway(deployment);
    const app = deployment.spec.template.spec.containers.find((c) => c.name !== 'authgate');
    assert.ok(app, 'no app container');
    const appListen = envVar(app, 'LISTEN_ADDRESS')?.value;
    assert.ok(appListen, 'the example names where the app listens (LISTEN_ADDRESS)');
    const listeners: Listener[] = [
      { container: 'authgate', ...hostPort(config.server.listen ?? '0.0.0.0:4180') },
      { container: app.name, ...hostPort(appListen) },
    ];
    const appListener = listeners[1];

    // authgate's own http port is the one it listens on.
    assert.equal(probePort(authgate, 'http'), listeners[0]?.port, "authgate's http containerPort is not server.listen's port");

    // Every upstream points where the app listens, over loopback.
    for (const upstream of config.upstreams) {
      const url = new URL(upstream.url ?? '');
      assert.ok(LOOPBACK.test(url.hostname), `${upstream.name}: ${upstream.url} is not the pod's loopback`);
      assert.equal(Number(url.port), appListener.port, `${upstream.name}: ${upstream.url} is not where the app listens (${appListen})`);
    }

    let probes = 0;
    for (const container of [authgate, app]) {
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
        const probe = (container as Container & Record<typeof kind, KubeletProbe | undefined>)[kind];
        if (!probe || probe.exec) continue;
        probes++;
        const what = `${container.name} ${kind}`;
        const target = probe.httpGet ?? probe.tcpSocket;
        assert.ok(target, `${what}: neither httpGet nor tcpSocket`);
        const port = probePort(container, target.port);
        // The kubelet connects to the pod's IP: a listener on loopback only is never reached.
        const listener = listeners.find((l) => l.port === port && !LOOPBACK.test(l.host));
        assert.ok(listener, `${what}: nothing listens on the pod's IP at port ${port} (${listeners.map((l) => `${l.container} on ${l.host}:${l.port}`).join(', ')})`);
        if (listener.container !== 'authgate' || !probe.httpGet) continue;
        const path = probe.httpGet.path;
        if (path === '/ready' || path === '/ping') {
          assert.equal(container.name, 'authgate', `${what}: probes authgate's ${path}, which says nothing about the app`);
          continue;
        }
        const upstream = route(config.upstreams, path);
        assert.ok(upstream, `${what}: no upstream routes ${path}`);
        assert.equal(upstream.auth, 'public', `${what}: ${path} goes to upstream ${upstream.name}, which needs a sign-in (the probe would get a 302, which counts as success)`);
        assert.equal(Number(new URL(upstream.url ?? '').port), appListener.port, `${what}: ${path} does not reach the app`);
      }
    }
    assert.ok(probes >= 3, 'expected the gateway probes and the app readiness probe');
    assert.equal(authgate.readinessProbe?.httpGet?.path, '/ready');
    assert.ok(app.readinessProbe, 'the app has a readiness probe (or the pod takes traffic before the app is up)');
  });
});
