/**
 * The Helm chart's optional objects appear only when enabled (Ingress, HPA, PDB, ServiceMonitor), Redis
 * wiring, and the ingress, redis-replicas and sidecar examples (the sidecar's app listening where its
 * upstream points).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { helmTemplate } from '../helpers/helm.js';
import { all, configOf, envVar, example, gateway, helm, isSubset, one, portOf, scenarioRenderer, SECRETS, type Deployment, type Service } from './chart-fixtures.js';

describe('helm chart helm/authgate', { skip: helm.available ? false : helm.reason }, () => {
  /** Each scenario rendered once, shared by the tests below. */
  const render = scenarioRenderer();

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

    it('an admin port on the pod when admin.listen is set, never on the Service', async () => {
      const none = await helmTemplate([], SECRETS);
      assert.equal(gateway(one<Deployment>(none, 'Deployment')).ports?.find((p) => p.name === 'admin'), undefined);
      for (const listen of ['127.0.0.1:9091', '0.0.0.0:9092']) {
        const objects = await helmTemplate([], { ...SECRETS, 'config.admin.listen': listen, 'config.admin.tokens[0]': '${ADMIN_TOKEN}' });
        assert.equal(gateway(one<Deployment>(objects, 'Deployment')).ports?.find((p) => p.name === 'admin')?.containerPort, portOf(listen), listen);
        assert.ok(!one<Service>(objects, 'Service').spec.ports.some((p) => p.name === 'admin' || p.targetPort === 'admin'), 'the Service never exposes the admin API');
      }
    });
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
