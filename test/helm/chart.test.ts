/**
 * The Helm chart helm/authgate: `helm lint --strict` and `helm template` over the default values and every
 * examples/*.yaml, with assertions on the rendered objects: a hardened Deployment with /ping and /ready
 * probes, checksum annotations that change exactly when the config or the secrets change, a ConfigMap whose
 * config.yaml passes the gateway's own `--check`, Secret and environment wiring, optional objects only when
 * enabled, and the sidecar example's app listening where its upstream points. No cluster, no kubectl.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli, TEST_SESSION_KEY } from '../helpers/gateway.js';
import { CHART_DIR, ROOT, helmAvailability, helmLint, helmNotes, helmTemplate, helmTemplateRun, RELEASE, type K8sObject } from '../helpers/helm.js';

const helm = helmAvailability();
const CLIENT_SECRET = 'chart-test-client-secret';
/** The least the default values need to render: the two secrets. */
const SECRETS = { 'secrets.clientSecret': CLIENT_SECRET, 'secrets.sessionKey': TEST_SESSION_KEY };
/** What the gateway's environment holds in a pod: every ${VAR} the rendered configs use. */
const POD_ENV = { OIDC_CLIENT_SECRET: CLIENT_SECRET, SESSION_KEY: TEST_SESSION_KEY, REDIS_PASSWORD: 'redis-pass' };
const EXAMPLES_DIR = join(CHART_DIR, 'examples');
const EXAMPLES = readdirSync(EXAMPLES_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const chartYaml = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { apiVersion: string; appVersion: string; name: string; version: string };
const defaultValues = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as { config: Record<string, unknown> };

interface Scenario {
  name: string;
  files: string[];
  sets: Record<string, unknown>;
}
const DEFAULTS: Scenario = { name: 'default values (+ secrets)', files: [], sets: SECRETS };
const SCENARIOS: Scenario[] = [DEFAULTS, ...EXAMPLES.map((f) => ({ name: `examples/${f}`, files: [join(EXAMPLES_DIR, f)], sets: {} }))];

/** The scenario of examples/FILE. */
function example(file: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === `examples/${file}`);
  assert.ok(found, `no examples/${file}`);
  return found;
}

// The few shapes of the rendered objects the assertions read.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Port {
  name?: string;
  containerPort: number;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: Port[];
  env?: EnvVar[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}
interface PodSpec {
  containers: Container[];
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
  terminationGracePeriodSeconds: number;
  automountServiceAccountToken?: boolean;
  volumes: Array<{ name: string; emptyDir?: object; configMap?: { name: string } }>;
  topologySpreadConstraints?: Array<{ labelSelector?: { matchLabels?: Record<string, string> } }>;
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
  };
}
interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
}
interface GatewayConfig {
  server: { listen?: string; metricsListen?: string; shutdownGrace?: string | number };
  session: { store?: string; redis?: { url?: string } };
  upstreams: Array<{ name: string; url?: string }>;
}

function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = all(objects, kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0] as T;
}
function gateway(deployment: Deployment): Container {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'authgate');
  assert.ok(container, 'no container named authgate');
  return container;
}
function envVar(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name);
}
function configText(objects: K8sObject[]): string {
  const data = one(objects, 'ConfigMap').data as Record<string, string>;
  assert.equal(typeof data['config.yaml'], 'string', 'the ConfigMap has no config.yaml');
  return data['config.yaml'];
}
function configOf(objects: K8sObject[]): GatewayConfig {
  return parse(configText(objects)) as GatewayConfig;
}
function portOf(listen: string): number {
  return Number(/:(\d+)$/.exec(listen)?.[1]);
}
/** A gateway duration in seconds ("30s", "15m", "500ms", a number of seconds). */
function seconds(value: string | number | undefined): number {
  if (value === undefined) return 30;
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
  assert.ok(m, `not a duration: ${value}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
}
function checksums(objects: K8sObject[]): Record<string, string | undefined> {
  const annotations = one<Deployment>(objects, 'Deployment').spec.template.metadata.annotations;
  return { config: annotations['checksum/config'], secret: annotations['checksum/secret'] };
}
function isSubset(subset: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(subset).every(([k, v]) => of[k] === v);
}

describe('helm chart helm/authgate', { skip: helm.available ? false : helm.reason }, () => {
  /** Each scenario rendered once, shared by the tests below. */
  const rendered = new Map<string, Promise<K8sObject[]>>();
  const render = (s: Scenario) => {
    let p = rendered.get(s.name);
    if (!p) rendered.set(s.name, (p = helmTemplate(s.files, s.sets)));
    return p;
  };
  const dir = mkdtempSync(join(tmpdir(), 'authgate-helm-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** `authgate --check` of each scenario's config.yaml, all started at once (a tsx start-up is the slow part). */
  const checks = new Map<string, Promise<{ code: number | null; stdout: string; stderr: string }>>();
  before(async () => {
    const renders = await Promise.all(SCENARIOS.map(render));
    SCENARIOS.forEach((s, i) => {
      const file = join(dir, `${s.name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
      writeFileSync(file, configText(renders[i]));
      const proc = runCli(['--config', file, '--check'], { ...POD_ENV, AUTHGATE_CONFIG: '' });
      const guard = setTimeout(() => proc.child.kill('SIGKILL'), 60_000);
      checks.set(
        s.name,
        proc.exited.then((code) => {
          clearTimeout(guard);
          return { code, stdout: proc.stdout(), stderr: proc.stderr() };
        }),
      );
    });
  });

  it('is a v2 chart with appVersion 0.1.0, and there are the three documented examples', () => {
    assert.equal(chartYaml.apiVersion, 'v2');
    assert.equal(chartYaml.name, 'authgate');
    assert.equal(chartYaml.appVersion, '0.1.0');
    for (const example of ['ingress.yaml', 'redis-replicas.yaml', 'sidecar.yaml']) assert.ok(EXAMPLES.includes(example), `examples/${example} is missing`);
  });

  describe('helm lint --strict', () => {
    it('passes with the default values alone (rendering them needs secrets: see below)', async () => {
      const run = await helmLint();
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
    for (const s of SCENARIOS) {
      it(`passes with ${s.name}, with no template check failing`, async () => {
        const run = await helmLint(s.files, s.sets);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
        // helm lint reports a template's fail() only as an INFO line: refuse it here.
        assert.doesNotMatch(run.stdout + run.stderr, /\[(ERROR|WARNING)\]|funcMap fail|execution error/);
      });
    }
  });

  describe('every rendering (default values and each example)', () => {
    for (const s of SCENARIOS) {
      describe(s.name, () => {
        let objects: K8sObject[];
        let deployment: Deployment;
        let container: Container;
        let pod: PodSpec;
        before(async () => {
          objects = await render(s);
          deployment = one<Deployment>(objects, 'Deployment');
          container = gateway(deployment);
          pod = deployment.spec.template.spec;
        });

        it('names objects uniquely, in the release namespace, with the standard labels', () => {
          const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
          assert.equal(new Set(keys).size, keys.length, `duplicates in ${keys.join(', ')}`);
          for (const o of objects) {
            assert.equal(o.metadata.namespace, 'apps', `${o.kind} namespace`);
            const labels = o.metadata.labels ?? {};
            assert.equal(labels['app.kubernetes.io/name'], 'authgate', `${o.kind} name label`);
            assert.equal(labels['app.kubernetes.io/instance'], RELEASE, `${o.kind} instance label`);
            assert.equal(labels['app.kubernetes.io/managed-by'], 'Helm', `${o.kind} managed-by label`);
            assert.equal(labels['helm.sh/chart'], `authgate-${chartYaml.version}`, `${o.kind} chart label`);
          }
        });

        it('probes GET /ping (liveness) and GET /ready (readiness) on the gateway port', () => {
          assert.deepEqual(container.livenessProbe?.httpGet, { path: '/ping', port: 'http' });
          assert.deepEqual(container.readinessProbe?.httpGet, { path: '/ready', port: 'http' });
          const http = container.ports?.find((p) => p.name === 'http');
          assert.equal(http?.containerPort, portOf(configOf(objects).server.listen ?? '0.0.0.0:4180'), 'the http port is server.listen\'s');
        });

        it('runs hardened: non-root 10001, fsGroup, seccomp RuntimeDefault, read-only root, no escalation, drop ALL', () => {
          assert.equal(pod.securityContext.runAsNonRoot, true);
          assert.equal(pod.securityContext.runAsUser, 10001);
          assert.equal(typeof pod.securityContext.fsGroup, 'number');
          assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
          const sc = container.securityContext;
          assert.equal(sc?.readOnlyRootFilesystem, true);
          assert.equal(sc?.allowPrivilegeEscalation, false);
          assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
          assert.equal(sc?.capabilities?.add, undefined);
          assert.equal(pod.automountServiceAccountToken, false, 'the gateway needs no API token');
          const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
          assert.ok(tmp, 'no /tmp mount');
          assert.ok(pod.volumes.find((v) => v.name === tmp.name)?.emptyDir, '/tmp is not an emptyDir');
        });

        it('mounts the ConfigMap as a directory (so updates reach the file) and points AUTHGATE_CONFIG at it', () => {
          const mount = container.volumeMounts?.find((m) => m.mountPath === '/etc/authgate');
          assert.ok(mount, 'no /etc/authgate mount');
          assert.equal(mount.subPath, undefined, 'a subPath mount never sees ConfigMap updates');
          assert.equal(mount.readOnly, true);
          assert.equal(pod.volumes.find((v) => v.name === mount.name)?.configMap?.name, one(objects, 'ConfigMap').metadata.name);
          assert.equal(envVar(container, 'AUTHGATE_CONFIG')?.value, '/etc/authgate/config.yaml');
        });

        it('gives the pod longer than server.shutdownGrace (plus any preStop sleep) to stop', () => {
          const grace = seconds(configOf(objects).server.shutdownGrace) + (container.lifecycle?.preStop?.sleep?.seconds ?? 0);
          assert.ok(pod.terminationGracePeriodSeconds > grace, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} <= ${grace}`);
        });

        it('carries checksum/config and checksum/secret pod annotations', () => {
          const sums = checksums(objects);
          assert.match(sums.config ?? '', /^[0-9a-f]{64}$/);
          assert.match(sums.secret ?? '', /^[0-9a-f]{64}$/);
        });

        it('selects its own pods from the Deployment and the Service; the Service targets the gateway', () => {
          const labels = deployment.spec.template.metadata.labels;
          assert.ok(isSubset(deployment.spec.selector.matchLabels, labels));
          const service = one<Service>(objects, 'Service');
          assert.ok(isSubset(service.spec.selector, labels), 'the Service selects other pods');
          const http = service.spec.ports.find((p) => p.name === 'http');
          assert.equal(http?.targetPort, 'http');
          for (const port of service.spec.ports) {
            assert.ok(container.ports?.some((p) => p.name === port.targetPort), `Service port ${port.name} targets ${String(port.targetPort)}, not a gateway port`);
          }
        });

        it('fills every ${VAR} of config.yaml from the container environment, secrets from a Secret', () => {
          const text = configText(objects);
          const names = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
          assert.ok(names.includes('OIDC_CLIENT_SECRET') && names.includes('SESSION_KEY'), 'config.yaml keeps the secrets out');
          for (const name of names) assert.ok(envVar(container, name), `config.yaml uses \${${name}} but the container has no ${name}`);
          const secrets = all(objects, 'Secret');
          for (const name of ['OIDC_CLIENT_SECRET', 'SESSION_KEY', 'REDIS_PASSWORD']) {
            const ref = envVar(container, name)?.valueFrom?.secretKeyRef;
            if (name === 'REDIS_PASSWORD' && !ref) continue;
            assert.ok(ref, `${name} does not come from a Secret`);
            const created = secrets.find((x) => x.metadata.name === ref.name);
            if (created) assert.ok(ref.key in (created.data as Record<string, string>), `Secret ${ref.name} has no key ${ref.key}`);
          }
        });

        it('prints NOTES naming the redirect URI to register (helm install --dry-run=client)', async () => {
          const notes = await helmNotes(s.files, s.sets);
          const publicUrl = (parse(configText(objects)) as { server: { publicUrl: string } }).server.publicUrl;
          assert.ok(notes.includes(`${publicUrl}/oauth2/callback`), notes);
          assert.match(notes, /rollout status deploy\/authgate/);
        });

        it('renders a config.yaml that the gateway itself accepts (authgate --check)', async () => {
          const check = await checks.get(s.name);
          assert.ok(check);
          assert.equal(check.code, 0, `--check refused the rendered config:\n${check.stderr}\n${configText(objects)}`);
          assert.match(check.stdout, /configuration is valid/);
        });
      });
    }
  });

  describe('default values', () => {
    it('refuse to render without secrets, saying what to set', async () => {
      const run = await helmTemplateRun();
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /secrets\.existingSecret/);
      assert.match(run.stderr, /secrets\.clientSecret and secrets\.sessionKey/);
      assert.doesNotMatch(run.stdout, /kind: Deployment/);
    });

    it('render exactly ServiceAccount, Secret, ConfigMap, Service and Deployment: no Ingress, HPA, PDB or ServiceMonitor', async () => {
      const objects = await render(DEFAULTS);
      assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Secret', 'Service', 'ServiceAccount']);
      const deployment = one<Deployment>(objects, 'Deployment');
      assert.equal(deployment.spec.replicas, 1);
      assert.equal(gateway(deployment).image, `ghcr.io/authgate/authgate:${chartYaml.appVersion}`);
      assert.equal(deployment.spec.template.spec.containers.length, 1);
    });

    it('put values.config verbatim into config.yaml', async () => {
      assert.deepEqual(configOf(await render(DEFAULTS)), defaultValues.config);
    });

    it('create a Secret from secrets.clientSecret/sessionKey and wire OIDC_CLIENT_SECRET and SESSION_KEY to it', async () => {
      const objects = await render(DEFAULTS);
      const secret = one(objects, 'Secret');
      const data = secret.data as Record<string, string>;
      assert.equal(Buffer.from(data['client-secret'] ?? '', 'base64').toString(), CLIENT_SECRET);
      assert.equal(Buffer.from(data['session-key'] ?? '', 'base64').toString(), TEST_SESSION_KEY);
      const container = gateway(one<Deployment>(objects, 'Deployment'));
      assert.deepEqual(envVar(container, 'OIDC_CLIENT_SECRET')?.valueFrom?.secretKeyRef, { name: secret.metadata.name, key: 'client-secret' });
      assert.deepEqual(envVar(container, 'SESSION_KEY')?.valueFrom?.secretKeyRef, { name: secret.metadata.name, key: 'session-key' });
      assert.equal(envVar(container, 'REDIS_PASSWORD'), undefined);
    });
  });

  describe('secrets.existingSecret', () => {
    it('creates no Secret and reads both keys from the named one', async () => {
      const objects = await helmTemplate([], { 'secrets.existingSecret': 'my-authgate' });
      assert.equal(all(objects, 'Secret').length, 0);
      const container = gateway(one<Deployment>(objects, 'Deployment'));
      assert.deepEqual(envVar(container, 'OIDC_CLIENT_SECRET')?.valueFrom?.secretKeyRef, { name: 'my-authgate', key: 'client-secret' });
      assert.deepEqual(envVar(container, 'SESSION_KEY')?.valueFrom?.secretKeyRef, { name: 'my-authgate', key: 'session-key' });
    });
  });

  describe('checksum annotations', () => {
    it('are stable for the same values', async () => {
      assert.deepEqual(checksums(await helmTemplate([], SECRETS)), checksums(await render(DEFAULTS)));
    });

    it('checksum/config changes when the config changes, and only it', async () => {
      const base = checksums(await render(DEFAULTS));
      for (const change of [{ 'config.server.publicUrl': 'https://other.example.com' }, { 'config.upstreams': [{ name: 'b', url: 'http://b:80' }] }, { 'redis.enabled': true }]) {
        const next = checksums(await helmTemplate([], { ...SECRETS, ...change }));
        assert.notEqual(next.config, base.config, `config checksum unchanged by ${JSON.stringify(change)}`);
        assert.equal(next.secret, base.secret, `secret checksum changed by ${JSON.stringify(change)}`);
      }
    });

    it('checksum/secret changes when a secret value or the existing Secret changes, and only it', async () => {
      const base = checksums(await render(DEFAULTS));
      const changed = checksums(await helmTemplate([], { ...SECRETS, 'secrets.clientSecret': 'rotated-secret' }));
      assert.notEqual(changed.secret, base.secret);
      assert.equal(changed.config, base.config);
      const a = checksums(await helmTemplate([], { 'secrets.existingSecret': 'a' }));
      const b = checksums(await helmTemplate([], { 'secrets.existingSecret': 'b' }));
      assert.notEqual(a.secret, b.secret);
      assert.equal(a.config, b.config);
    });

    it('rollOnConfigChange: false leaves checksum/config out (the gateway reloads the file itself)', async () => {
      assert.equal(checksums(await helmTemplate([], { ...SECRETS, rollOnConfigChange: false })).config, undefined);
    });
  });

  describe('optional objects appear only when enabled', () => {
    it('Ingress (className, hosts, tls) routes to the Service http port', async () => {
      const objects = await helmTemplate([], {
        ...SECRETS,
        ingress: { enabled: true, className: 'nginx', hosts: [{ host: 'a.example.com', paths: [{ path: '/', pathType: 'Prefix' }] }], tls: [{ secretName: 'a-tls', hosts: ['a.example.com'] }] },
      });
      const ingress = one(objects, 'Ingress');
      assert.equal(ingress.apiVersion, 'networking.k8s.io/v1');
      const spec = ingress.spec as { ingressClassName: string; tls: unknown; rules: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string; port: { name: string } } } }> } }> };
      assert.equal(spec.ingressClassName, 'nginx');
      assert.deepEqual(spec.tls, [{ secretName: 'a-tls', hosts: ['a.example.com'] }]);
      assert.equal(spec.rules[0]?.host, 'a.example.com');
      assert.deepEqual(spec.rules[0]?.http.paths[0]?.backend.service, { name: one(objects, 'Service').metadata.name, port: { name: 'http' } });
    });

    it('HorizontalPodAutoscaler (autoscaling/v2) targets the Deployment, which then sets no replicas', async () => {
      const objects = await helmTemplate([], { ...SECRETS, 'autoscaling.enabled': true });
      const hpa = one(objects, 'HorizontalPodAutoscaler');
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      const deployment = one<Deployment>(objects, 'Deployment');
      assert.deepEqual((hpa.spec as { scaleTargetRef: unknown }).scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
      assert.equal(deployment.spec.replicas, undefined);
    });

    it('PodDisruptionBudget (policy/v1) selects the pods', async () => {
      const objects = await helmTemplate([], { ...SECRETS, 'podDisruptionBudget.enabled': true });
      const pdb = one(objects, 'PodDisruptionBudget');
      assert.equal(pdb.apiVersion, 'policy/v1');
      const spec = pdb.spec as { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } };
      assert.equal(spec.maxUnavailable, 1);
      assert.ok(isSubset(spec.selector.matchLabels, one<Deployment>(objects, 'Deployment').spec.template.metadata.labels));
    });

    it('ServiceMonitor scrapes /metrics on the http port, or on a metrics port when server.metricsListen is set', async () => {
      const onHttp = await helmTemplate([], { ...SECRETS, 'serviceMonitor.enabled': true });
      const sm = one(onHttp, 'ServiceMonitor');
      assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
      assert.deepEqual(
        (sm.spec as { endpoints: Array<{ port: string; path: string }> }).endpoints.map((e) => [e.port, e.path]),
        [['http', '/metrics']],
      );
      assert.equal(one<Service>(onHttp, 'Service').spec.ports.length, 1);

      const separate = await helmTemplate([], { ...SECRETS, 'serviceMonitor.enabled': true, 'config.server.metricsListen': '0.0.0.0:9464' });
      assert.equal((one(separate, 'ServiceMonitor').spec as { endpoints: Array<{ port: string }> }).endpoints[0]?.port, 'metrics');
      assert.ok(one<Service>(separate, 'Service').spec.ports.some((p) => p.name === 'metrics' && p.targetPort === 'metrics'));
      assert.equal(gateway(one<Deployment>(separate, 'Deployment')).ports?.find((p) => p.name === 'metrics')?.containerPort, 9464);
    });
  });

  describe('terminationGracePeriodSeconds and ports follow the config', () => {
    const cases: Array<[Record<string, unknown>, number, number]> = [
      [{}, 40, 4180],
      [{ 'config.server.shutdownGrace': '2m' }, 130, 4180],
      [{ 'config.server.shutdownGrace': 45 }, 55, 4180],
      [{ 'config.server.shutdownGrace': '500ms' }, 11, 4180],
      [{ lifecycle: { preStop: { sleep: { seconds: 7 } } } }, 47, 4180],
      [{ terminationGracePeriodSeconds: 90 }, 90, 4180],
      [{ 'config.server.shutdownGrace': '${GRACE}', terminationGracePeriodSeconds: 99 }, 99, 4180],
      [{ 'config.server.listen': '[::]:8080' }, 40, 8080],
    ];
    for (const [sets, grace, port] of cases) {
      it(`${JSON.stringify(sets)} → ${grace} s, port ${port}`, async () => {
        const deployment = one<Deployment>(await helmTemplate([], { ...SECRETS, ...sets }), 'Deployment');
        assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, grace);
        assert.equal(gateway(deployment).ports?.find((p) => p.name === 'http')?.containerPort, port);
      });
    }
  });

  describe('refuses bad values with a clear message', () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['both an existing Secret and secret values', { ...SECRETS, 'secrets.existingSecret': 'x' }, /either secrets\.existingSecret or secrets\.clientSecret/],
      ['only one of the two secret values', { 'secrets.clientSecret': 'x' }, /secrets\.clientSecret and secrets\.sessionKey/],
      ['a session key shorter than 32 bytes', { ...SECRETS, 'secrets.sessionKey': 'short' }, /at least 32 bytes/],
      ['a literal client secret in the ConfigMap', { ...SECRETS, 'config.oidc.clientSecret': 'plain' }, /config\.oidc\.clientSecret holds a literal secret/],
      ['a literal session key in the ConfigMap', { ...SECRETS, 'config.session.keys': [TEST_SESSION_KEY] }, /config\.session\.keys\[0\] is a literal key/],
      ['a loopback listen address', { ...SECRETS, 'config.server.listen': '127.0.0.1:4180' }, /loopback/],
      ['a listen address without a port', { ...SECRETS, 'config.server.listen': '0.0.0.0' }, /config\.server\.listen must be "host:port"/],
      ['terminationGracePeriodSeconds within shutdownGrace', { ...SECRETS, terminationGracePeriodSeconds: 30 }, /must exceed config\.server\.shutdownGrace/],
      ['a shutdownGrace from the environment without terminationGracePeriodSeconds', { ...SECRETS, 'config.server.shutdownGrace': '${GRACE}' }, /set terminationGracePeriodSeconds/],
      ['a Redis password Secret the URL does not use', { ...SECRETS, 'redis.enabled': true, 'redis.existingSecret': 'redis' }, /\$\{REDIS_PASSWORD\}/],
      ['sidecar mode without an app container', { ...SECRETS, 'sidecar.enabled': true }, /sidecar\.app/],
      ['an unknown top-level value (values.schema.json)', { ...SECRETS, replicas: 3 }, /replicas/],
    ];
    for (const [name, sets, message] of cases) {
      it(name, async () => {
        const run = await helmTemplateRun([], sets);
        assert.notEqual(run.code, 0, `rendered anyway:\n${run.stdout.slice(0, 400)}`);
        assert.match(run.stderr, message);
      });
    }
  });

  describe('redis', () => {
    it('redis.enabled sets session.store and session.redis.url; no password Secret, no REDIS_PASSWORD', async () => {
      const objects = await helmTemplate([], { ...SECRETS, 'redis.enabled': true, 'redis.url': 'rediss://redis.example.com:6380/2' });
      assert.deepEqual(configOf(objects).session.redis, { url: 'rediss://redis.example.com:6380/2' });
      assert.equal(configOf(objects).session.store, 'redis');
      assert.equal(envVar(gateway(one<Deployment>(objects, 'Deployment')), 'REDIS_PASSWORD'), undefined);
    });

    it('examples/redis-replicas.yaml: 3 replicas min, HPA, PDB, spread pods, REDIS_PASSWORD from the Redis Secret', async () => {
      const objects = await render(example('redis-replicas.yaml'));
      const config = configOf(objects);
      assert.equal(config.session.store, 'redis');
      assert.match(config.session.redis?.url ?? '', /^redis:\/\/:\$\{REDIS_PASSWORD\}@/);
      const deployment = one<Deployment>(objects, 'Deployment');
      assert.deepEqual(envVar(gateway(deployment), 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'redis', key: 'redis-password' });
      const hpa = one(objects, 'HorizontalPodAutoscaler').spec as { minReplicas: number; maxReplicas: number };
      assert.ok(hpa.minReplicas >= 3 && hpa.maxReplicas > hpa.minReplicas);
      const pdb = one(objects, 'PodDisruptionBudget').spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      assert.equal(pdb.minAvailable, 2);
      const podLabels = deployment.spec.template.metadata.labels;
      assert.ok(isSubset(pdb.selector.matchLabels, podLabels));
      const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
      assert.ok(spread.length >= 1);
      for (const c of spread) assert.ok(isSubset(c.labelSelector?.matchLabels ?? { none: 'x' }, podLabels), 'a spread constraint without the pods\' labels');
    });
  });

  describe('examples/ingress.yaml', () => {
    it('has an Ingress with TLS, and /metrics on its own port, scraped by a ServiceMonitor', async () => {
      const objects = await render(example('ingress.yaml'));
      const spec = one(objects, 'Ingress').spec as { ingressClassName?: string; tls?: unknown[] };
      assert.ok(spec.ingressClassName);
      assert.ok((spec.tls ?? []).length > 0);
      const metricsPort = portOf(configOf(objects).server.metricsListen ?? '');
      assert.equal(gateway(one<Deployment>(objects, 'Deployment')).ports?.find((p) => p.name === 'metrics')?.containerPort, metricsPort);
      assert.equal((one(objects, 'ServiceMonitor').spec as { endpoints: Array<{ port: string }> }).endpoints[0]?.port, 'metrics');
      assert.equal(all(objects, 'Secret').length, 0, 'the example uses an existing Secret');
    });
  });

  describe('examples/sidecar.yaml', () => {
    it('runs the app and authgate in one pod; the app listens where the upstream points; the Service reaches authgate only', async () => {
      const objects = await render(example('sidecar.yaml'));
      const deployment = one<Deployment>(objects, 'Deployment');
      const containers = deployment.spec.template.spec.containers;
      assert.equal(containers.length, 2);
      const app = containers.find((c) => c.name !== 'authgate');
      assert.ok(app);
      const appPorts = (app.ports ?? []).map((p) => p.containerPort);
      const upstream = new URL(configOf(objects).upstreams[0]?.url ?? '');
      assert.equal(upstream.hostname, '127.0.0.1', 'in a pod the app is reached over loopback');
      assert.ok(appPorts.includes(Number(upstream.port)), `the upstream port ${upstream.port} is not one of the app's ports ${appPorts.join(', ')}`);
      const gatewayPorts = (gateway(deployment).ports ?? []).map((p) => p.containerPort);
      assert.ok(!gatewayPorts.some((p) => appPorts.includes(p)), 'authgate and the app share a port');
      for (const port of one<Service>(objects, 'Service').spec.ports) {
        assert.ok(!appPorts.includes(Number(port.targetPort)) && !(app.ports ?? []).some((p) => p.name === port.targetPort), 'the Service exposes the app directly');
      }
    });
  });
});

describe('docs/helm.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'helm.md'), 'utf8');
  const yamlBlocks = [...doc.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)].map((m) => m[2].replace(new RegExp(`^${m[1]}`, 'gm'), ''));

  it('names every top-level value of values.yaml', () => {
    for (const key of Object.keys(defaultValues)) assert.ok(doc.includes(`\`${key}`), `docs/helm.md does not mention \`${key}\``);
  });

  it('has YAML examples that parse, and a sidecar patch wired like the chart (probes, hardening, env, mounts)', () => {
    assert.ok(yamlBlocks.length >= 4);
    for (const block of yamlBlocks) parse(block);
    const patch = yamlBlocks.find((b) => b.includes('kubectl patch deployment'));
    assert.ok(patch, 'no sidecar patch for an existing Deployment');
    const spec = (parse(patch) as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    const container = spec.containers.find((c) => c.name === 'authgate');
    assert.ok(container);
    assert.equal(container.livenessProbe?.httpGet?.path, '/ping');
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL']);
    assert.deepEqual(
      (container.env ?? []).map((e) => e.name),
      ['AUTHGATE_CONFIG', 'OIDC_CLIENT_SECRET', 'SESSION_KEY'],
    );
    for (const mount of container.volumeMounts ?? []) assert.ok(spec.volumes.some((v) => v.name === mount.name), `no volume ${mount.name}`);
    assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/tmp'));
    assert.ok(spec.terminationGracePeriodSeconds > 30);
    const service = yamlBlocks.find((b) => b.includes('kubectl patch service'));
    assert.ok(service, 'no Service patch');
    const targetPort = (parse(service) as { spec: { ports: Array<{ targetPort: string }> } }).spec.ports[0]?.targetPort;
    assert.ok(container.ports?.some((p) => p.name === targetPort), 'the Service patch does not target authgate');
  });
});
