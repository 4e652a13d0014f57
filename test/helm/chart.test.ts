/**
 * The Helm chart helm/authgate: `helm lint --strict` and `helm template` over the default values and every
 * examples/*.yaml, with assertions on every rendering: a hardened Deployment with /ping and /ready probes
 * and a ConfigMap whose config.yaml passes the gateway's own `--check`. The values-driven objects are in
 * chart-values and chart-optional-objects. No cluster, no kubectl.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../helpers/gateway.js';
import { helmLint, helmNotes, RELEASE, type K8sObject } from '../helpers/helm.js';
import { all, chartYaml, checksums, configOf, configText, envVar, EXAMPLES, gateway, helm, isSubset, one, POD_ENV, portOf, scenarioRenderer, SCENARIOS, seconds, type Container, type Deployment, type PodSpec, type Service } from './chart-fixtures.js';

describe('helm chart helm/authgate', { skip: helm.available ? false : helm.reason }, () => {
  /** Each scenario rendered once, shared by the tests below. */
  const render = scenarioRenderer();
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
          const clientCredential = names.includes('OIDC_CLIENT_SECRET') || names.includes('CLIENT_PRIVATE_KEY');
          assert.ok(clientCredential && names.includes('SESSION_KEY'), 'config.yaml keeps the secrets out');
          for (const name of names) assert.ok(envVar(container, name), `config.yaml uses \${${name}} but the container has no ${name}`);
          const secrets = all(objects, 'Secret');
          const secretNames = ['OIDC_CLIENT_SECRET', 'SESSION_KEY', 'REDIS_PASSWORD', 'PARTNER_CLIENT_SECRET', 'CLIENT_PRIVATE_KEY', 'DPOP_KEY', 'ADMIN_TOKEN'];
          for (const name of secretNames.filter((n) => names.includes(n) || n === 'SESSION_KEY')) {
            const ref = envVar(container, name)?.valueFrom?.secretKeyRef;
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
});
