/**
 * The Helm chart's values: the default values (secrets required, exactly the base objects, config verbatim,
 * Secret wiring), secrets.existingSecret, checksum annotations that change exactly when a config section
 * that needs a restart or the secrets change, grace period and ports that follow the config, and clear refusals of bad values.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { helmTemplate, helmTemplateRun } from '../helpers/helm.js';
import { all, chartYaml, checksums, CLIENT_SECRET, configOf, configText, DEFAULTS, defaultValues, envVar, gateway, helm, one, scenarioRenderer, SECRETS, type Deployment } from './chart-fixtures.js';

describe('helm chart helm/authgate', { skip: helm.available ? false : helm.reason }, () => {
  /** Each scenario rendered once, shared by the tests below. */
  const render = scenarioRenderer();

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

  describe('private_key_jwt: no client secret', () => {
    const keyOnly = {
      'secrets.sessionKey': TEST_SESSION_KEY,
      'config.oidc.clientSecret': null,
      'config.oidc.clientAuthMethod': 'private_key_jwt',
      'config.oidc.clientPrivateKeyFile': '/etc/authgate-keys/client.pem',
    };

    it('creates a Secret with the session key only, and wires no OIDC_CLIENT_SECRET', async () => {
      const objects = await helmTemplate([], keyOnly);
      assert.deepEqual(Object.keys(one(objects, 'Secret').data as Record<string, string>), ['session-key']);
      const container = gateway(one<Deployment>(objects, 'Deployment'));
      assert.equal(envVar(container, 'OIDC_CLIENT_SECRET'), undefined, 'a reference to a missing key would stop the pod');
      assert.ok(envVar(container, 'SESSION_KEY'));
      assert.doesNotMatch(configText(objects), /clientSecret/);
    });

    it('still asks for the secret while the config uses ${OIDC_CLIENT_SECRET}, and says how to drop it', async () => {
      const run = await helmTemplateRun([], { ...keyOnly, 'config.oidc.clientSecret': '${OIDC_CLIENT_SECRET}' });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /set config\.oidc\.clientSecret: null/);
    });

    it('still asks for a session key', async () => {
      const run = await helmTemplateRun([], { ...keyOnly, 'secrets.sessionKey': '' });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /a session key is needed: set secrets\.sessionKey/);
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

    it('checksum/config changes when a section the gateway cannot reload changes, and only it', async () => {
      const base = checksums(await render(DEFAULTS));
      for (const change of [
        { 'config.server.publicUrl': 'https://other.example.com' },
        { 'config.oidc.clientId': 'other-client' },
        { 'config.session.idleTimeout': '2h' },
        { 'config.api.acceptBearerTokens': true },
        { 'redis.enabled': true },
      ]) {
        const next = checksums(await helmTemplate([], { ...SECRETS, ...change }));
        assert.notEqual(next.config, base.config, `config checksum unchanged by ${JSON.stringify(change)}`);
        assert.equal(next.secret, base.secret, `secret checksum changed by ${JSON.stringify(change)}`);
      }
    });

    it('an upstreams or defaults change does not roll the pods (the gateway reloads the mounted file), unless rollOnConfigChange: always', async () => {
      const upstreams = { 'config.upstreams': [{ name: 'b', url: 'http://b:80', allow: { emailDomains: ['example.com'] } }] };
      const base = checksums(await render(DEFAULTS));
      assert.equal(checksums(await helmTemplate([], { ...SECRETS, ...upstreams })).config, base.config);
      assert.equal(checksums(await helmTemplate([], { ...SECRETS, 'config.defaults': { allow: { groups: ['staff'] } } })).config, base.config, 'a defaults change rolled the pods');
      for (const always of ['always', true]) {
        const before = checksums(await helmTemplate([], { ...SECRETS, rollOnConfigChange: always })).config;
        const after = checksums(await helmTemplate([], { ...SECRETS, ...upstreams, rollOnConfigChange: always })).config;
        assert.match(before ?? '', /^[0-9a-f]{64}$/);
        assert.notEqual(after, before, `rollOnConfigChange: ${String(always)} did not roll on an upstreams change`);
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

    it('rollOnConfigChange: never (or false) leaves checksum/config out; another word is refused', async () => {
      for (const never of ['never', false]) assert.equal(checksums(await helmTemplate([], { ...SECRETS, rollOnConfigChange: never })).config, undefined);
      const run = await helmTemplateRun([], { ...SECRETS, rollOnConfigChange: 'sometimes' });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /rollOnConfigChange/);
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
      ['a literal private key in the ConfigMap', { ...SECRETS, 'config.oidc.clientPrivateKey': '-----BEGIN PRIVATE KEY-----\nMIG...\n-----END PRIVATE KEY-----' }, /config\.oidc\.clientPrivateKey holds a literal secret.*clientPrivateKeyFile/],
      ['a literal DPoP key in the ConfigMap', { ...SECRETS, 'config.oidc.dpopKey': '{"kty":"EC","crv":"P-256","d":"x"}' }, /config\.oidc\.dpopKey holds a literal secret/],
      [
        'a literal secret of a second provider in the ConfigMap',
        {
          ...SECRETS,
          'config.oidc': null,
          'config.providers': [
            { id: 'corp', issuer: 'https://corp.example', clientId: 'gw', clientSecret: '${OIDC_CLIENT_SECRET}' },
            { id: 'partners', issuer: 'https://partners.example', clientId: 'gw', clientSecret: 'plain-partner-secret' },
          ],
        },
        /config\.providers\[1\]\.clientSecret holds a literal secret/,
      ],
      ['a literal admin token in the ConfigMap', { ...SECRETS, 'config.admin': { listen: '127.0.0.1:9091', tokens: ['x'.repeat(44)] } }, /config\.admin\.tokens\[0\] is a literal token/],
      ['a loopback listen address', { ...SECRETS, 'config.server.listen': '127.0.0.1:4180' }, /loopback/],
      // values.schema.json (generated from the config schema) refuses it before the template's own check.
      ['a listen address without a port', { ...SECRETS, 'config.server.listen': '0.0.0.0' }, /\/config\/server\/listen'?: '0\.0\.0\.0' does not match pattern/],
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

});
