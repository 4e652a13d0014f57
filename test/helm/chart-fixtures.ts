/**
 * Shared by the chart tests (test/helm/chart*.test.ts): the scenarios (default values with secrets, each
 * example), the shapes of the rendered objects the assertions read, small accessors, and a render cache.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { CHART_DIR, helmAvailability, helmTemplate, type K8sObject } from '../helpers/helm.js';

/** A fresh P-256 private key as a PKCS#8 PEM. */
function ecPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Whether helm can run here, and why not when it cannot. */
export const helm = helmAvailability();
/** The client secret the renderings are given. */
export const CLIENT_SECRET = 'chart-test-client-secret';
/** The least the default values need to render: the two secrets. */
export const SECRETS = { 'secrets.clientSecret': CLIENT_SECRET, 'secrets.sessionKey': TEST_SESSION_KEY };
/** What the gateway's environment holds in a pod: every ${VAR} the rendered configs use. */
export const POD_ENV = {
  OIDC_CLIENT_SECRET: CLIENT_SECRET,
  SESSION_KEY: TEST_SESSION_KEY,
  REDIS_PASSWORD: 'redis-pass',
  PARTNER_CLIENT_SECRET: 'partner-secret',
  // examples/fapi.yaml: the client's and the DPoP key (PEM), and an admin token.
  CLIENT_PRIVATE_KEY: ecPem(),
  DPOP_KEY: ecPem(),
  ADMIN_TOKEN: randomBytes(32).toString('base64'),
};
/** The chart's examples directory. */
export const EXAMPLES_DIR = join(CHART_DIR, 'examples');
/** The example values files, sorted. */
export const EXAMPLES = readdirSync(EXAMPLES_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
/** The chart's Chart.yaml. */
export const chartYaml = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { apiVersion: string; appVersion: string; name: string; version: string };
/** The chart's values.yaml. */
export const defaultValues = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as { config: Record<string, unknown> };

/** One rendering: a name, values files and --set values. */
export interface Scenario {
  name: string;
  files: string[];
  sets: Record<string, unknown>;
}
/** The default values with the two secrets. */
export const DEFAULTS: Scenario = { name: 'default values (+ secrets)', files: [], sets: SECRETS };
/** The default values and every example. */
export const SCENARIOS: Scenario[] = [DEFAULTS, ...EXAMPLES.map((f) => ({ name: `examples/${f}`, files: [join(EXAMPLES_DIR, f)], sets: {} }))];

/** The scenario of examples/FILE. */
export function example(file: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === `examples/${file}`);
  assert.ok(found, `no examples/${file}`);
  return found;
}

// The few shapes of the rendered objects the assertions read.
/** A container's environment variable. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
/** A container's port. */
export interface Port {
  name?: string;
  containerPort: number;
}
/** A container's probe. */
export interface Probe {
  httpGet?: { path: string; port: string | number };
}
/** A pod container, as far as the assertions read it. */
export interface Container {
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
/** A pod spec, as far as the assertions read it. */
export interface PodSpec {
  containers: Container[];
  securityContext: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number; seccompProfile?: { type: string } };
  terminationGracePeriodSeconds: number;
  automountServiceAccountToken?: boolean;
  volumes: Array<{ name: string; emptyDir?: object; configMap?: { name: string } }>;
  topologySpreadConstraints?: Array<{ labelSelector?: { matchLabels?: Record<string, string> } }>;
}
/** The rendered Deployment. */
export interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
  };
}
/** The rendered Service. */
export interface Service extends K8sObject {
  spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
}
/** The rendered config.yaml, as far as the assertions read it. */
export interface GatewayConfig {
  server: { listen?: string; metricsListen?: string; shutdownGrace?: string | number };
  session: { store?: string; redis?: { url?: string } };
  upstreams: Array<{ name: string; url?: string }>;
}

/** Every object of `kind`. */
export function all(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}
/** The one object of `kind` (fails unless there is exactly one). */
export function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = all(objects, kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0] as T;
}
/** The Deployment's authgate container. */
export function gateway(deployment: Deployment): Container {
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'authgate');
  assert.ok(container, 'no container named authgate');
  return container;
}
/** A container's environment variable by name. */
export function envVar(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name);
}
/** The ConfigMap's config.yaml text. */
export function configText(objects: K8sObject[]): string {
  const data = one(objects, 'ConfigMap').data as Record<string, string>;
  assert.equal(typeof data['config.yaml'], 'string', 'the ConfigMap has no config.yaml');
  return data['config.yaml'];
}
/** The ConfigMap's config.yaml, parsed. */
export function configOf(objects: K8sObject[]): GatewayConfig {
  return parse(configText(objects)) as GatewayConfig;
}
/** The port of a listen address. */
export function portOf(listen: string): number {
  return Number(/:(\d+)$/.exec(listen)?.[1]);
}
/** A gateway duration in seconds ("30s", "15m", "500ms", a number of seconds). */
export function seconds(value: string | number | undefined): number {
  if (value === undefined) return 30;
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value);
  assert.ok(m, `not a duration: ${value}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
}
/** The Deployment's checksum annotations. */
export function checksums(objects: K8sObject[]): Record<string, string | undefined> {
  const annotations = one<Deployment>(objects, 'Deployment').spec.template.metadata.annotations;
  return { config: annotations['checksum/config'], secret: annotations['checksum/secret'] };
}
/** True when every entry of `subset` is in `of`. */
export function isSubset(subset: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(subset).every(([k, v]) => of[k] === v);
}

/** Renders each scenario once per test file, shared by the tests that read it. */
export function scenarioRenderer(): (s: Scenario) => Promise<K8sObject[]> {
  const rendered = new Map<string, Promise<K8sObject[]>>();
  return (s: Scenario) => {
    let p = rendered.get(s.name);
    if (!p) rendered.set(s.name, (p = helmTemplate(s.files, s.sets)));
    return p;
  };
}
