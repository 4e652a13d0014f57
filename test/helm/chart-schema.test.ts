/**
 * values.schema.json's `config` part is generated from src/config (scripts/chart-schema.ts): the committed
 * file is what the generator writes, helm refuses a misspelt key inside values.config (lint, template and
 * install), and accepts what the gateway's loader accepts: ${VAR} where a number or boolean belongs, xxxFile
 * keys, config/example.yaml, and every example of the chart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { CHART_SCHEMA_FILE, REGENERATE_COMMAND, renderChartSchema } from '../../scripts/chart-schema.js';
import { runCli } from '../helpers/gateway.js';
import { CHART_DIR, helmLint, helmTemplateRun, parseManifests, RELEASE, ROOT, runHelm } from '../helpers/helm.js';
import { configText, helm, POD_ENV, SCENARIOS, SECRETS } from './chart-fixtures.js';

/** Misspelt keys, each with the schema path helm names. */
const MISSPELT: Array<[string, Record<string, unknown>, RegExp]> = [
  ['config.oidc.clientSecrett', { 'config.oidc.clientSecrett': 'x' }, /\/config\/oidc[\s\S]*clientSecrett/],
  ['config.upstreams[0].emailDomain', { 'config.upstreams': [{ name: 'app', url: 'http://app:8080', emailDomain: ['example.com'] }] }, /\/config\/upstreams\/0[\s\S]*emailDomain/],
  ['config.upstreams[0].allow.emailDomain', { 'config.upstreams': [{ name: 'app', url: 'http://app:8080', allow: { emailDomain: ['example.com'] } }] }, /\/config\/upstreams\/0\/allow[\s\S]*emailDomain/],
  ['config.server.listn', { 'config.server.listn': '0.0.0.0:4180' }, /\/config\/server[\s\S]*listn/],
  ['config.sesion (a section)', { 'config.sesion': { store: 'redis' } }, /\/config[\s\S]*sesion/],
];

/** Values the loader accepts although they are not literally of the schema's type. */
const LENIENT = {
  'config.server.workers': '${WORKERS:-2}',
  'config.server.publicUrl': 'https://${PUBLIC_HOST:-app.example.com}',
  'config.server.shutdownGrace': 20,
  'config.oidc.allowInsecureHttp': '${ALLOW_HTTP:-false}',
  'config.oidc.trustUnverifiedEmail': 'false',
  'config.tracing.sampleRatio': '0.25',
  'config.oidc.clientSecret': null,
  'config.oidc.clientSecretFile': '/etc/authgate-secrets/client-secret',
  'config.upstreams': [{ name: 'app', url: '${APP_URL:-http://app:8080}', timeout: '${APP_TIMEOUT:-30s}', stripPrefix: '${STRIP:-false}' }],
};

describe('values.schema.json: the config part', () => {
  it(`is what ${REGENERATE_COMMAND} writes from src/config`, () => {
    const committed = readFileSync(CHART_SCHEMA_FILE, 'utf8');
    assert.ok(
      renderChartSchema(committed) === committed,
      `helm/authgate/values.schema.json is out of date with the configuration schema in src/config: run ${REGENERATE_COMMAND} and commit the file`,
    );
  });

  it('lists every section and key of the configuration, and refuses unknown ones', () => {
    const config = (JSON.parse(readFileSync(CHART_SCHEMA_FILE, 'utf8')) as { properties: { config: Schema } }).properties.config;
    assert.equal(config.additionalProperties, false);
    for (const section of ['server', 'oidc', 'session', 'api']) assert.equal(config.properties?.[section]?.additionalProperties, false, section);
    assert.ok(config.properties?.oidc?.properties?.clientSecretFile, 'oidc.clientSecretFile');
    assert.ok(config.properties?.session?.properties?.keysFile, 'session.keysFile');
    assert.equal(config.properties?.upstreams?.items?.additionalProperties, false);
  });
});

/** The part of a JSON schema node this test reads. */
interface Schema {
  additionalProperties?: boolean | Schema;
  properties?: Record<string, Schema>;
  items?: Schema;
}

describe('helm and values.config', { skip: helm.available ? false : helm.reason }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-chart-schema-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [name, sets, message] of MISSPELT) {
    it(`helm template and helm lint refuse ${name}`, async () => {
      const template = await helmTemplateRun([], { ...SECRETS, ...sets });
      assert.notEqual(template.code, 0, `helm template accepted ${name}`);
      assert.match(template.stderr, /don't meet the specifications of the schema/);
      assert.match(template.stderr, message);
      const lint = await helmLint([], { ...SECRETS, ...sets });
      assert.notEqual(lint.code, 0, `helm lint accepted ${name}`);
      assert.match(lint.stdout + lint.stderr, message);
    });
  }

  it('helm install --dry-run refuses a misspelt key', async () => {
    const [, sets, message] = MISSPELT[0];
    const args = ['install', RELEASE, CHART_DIR, '--dry-run=client', '--namespace', 'apps'];
    for (const [key, value] of Object.entries({ ...SECRETS, ...sets })) args.push('--set-json', `${key}=${JSON.stringify(value)}`);
    const run = await runHelm(args);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, message);
  });

  it('accepts every example of the chart (helm lint --strict)', async () => {
    for (const s of SCENARIOS) {
      const run = await helmLint(s.files, s.sets);
      assert.equal(run.code, 0, `${s.name}: ${run.stdout}${run.stderr}`);
    }
  });

  it('accepts config/example.yaml as values.config', async () => {
    const file = join(dir, 'example-values.yaml');
    writeFileSync(file, stringify({ config: parse(readFileSync(join(ROOT, 'config', 'example.yaml'), 'utf8')) as unknown }));
    // lint, not template: the chart's own checks refuse its loopback metricsListen (reported by lint as INFO only).
    const run = await helmLint([file], SECRETS);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, /specifications of the schema/);
  });

  it('accepts ${VAR} for numbers and booleans, "true"/"false" text, and xxxFile keys; the gateway loads the result', async () => {
    const run = await helmTemplateRun([], { ...SECRETS, ...LENIENT });
    assert.equal(run.code, 0, run.stderr);
    const secretFile = join(dir, 'client-secret');
    writeFileSync(secretFile, 'from-a-file\n');
    const file = join(dir, 'lenient.yaml');
    writeFileSync(file, configText(parseManifests(run.stdout)).replace('/etc/authgate-secrets/client-secret', secretFile));
    const check = runCli(['--config', file, '--check'], { ...POD_ENV, AUTHGATE_CONFIG: '' });
    const code = await check.exited;
    assert.equal(code, 0, check.stderr());
  });
});
