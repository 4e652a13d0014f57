/**
 * docs/helm.md stays in step with the chart: it names every top-level value of values.yaml, and its YAML
 * examples parse, with a sidecar patch wired like the chart (probes, hardening, env, mounts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/helm.js';
import { defaultValues, type PodSpec } from './chart-fixtures.js';

describe('docs/helm.md', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'helm.md'), 'utf8');
  const yamlBlocks = [...doc.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```/gm)].map((m) => m[2].replace(new RegExp(`^${m[1]}`, 'gm'), ''));

  it('names every top-level value of values.yaml', () => {
    for (const key of Object.keys(defaultValues)) assert.ok(doc.includes(`\`${key}`), `docs/helm.md does not mention \`${key}\``);
  });

  it('says a ConfigMap change reloads without a restart, and names every rollOnConfigChange mode', () => {
    assert.equal((defaultValues as { rollOnConfigChange?: unknown }).rollOnConfigChange, 'restartNeeded');
    for (const mode of ['restartNeeded', 'always', 'never']) assert.ok(doc.includes(`\`${mode}\``), `docs/helm.md does not explain rollOnConfigChange: ${mode}`);
    assert.match(doc, /ConfigMap change needs no restart/);
    for (const file of ['deployment.md', 'helm.md']) {
      const text = readFileSync(join(ROOT, 'docs', file), 'utf8');
      assert.doesNotMatch(text, /after changing the ConfigMap, restart/i, `docs/${file} still asks for a restart after every ConfigMap change`);
    }
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
