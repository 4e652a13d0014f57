/**
 * The npm package installs and runs from `npm pack`'s tarball, as a user would get it: pack (the `prepare`
 * script builds dist/), install the tarball into an empty project, and run the installed `authgate` bin:
 * `--version` prints package.json's version and `--check` accepts the packaged example configuration.
 *
 * Without the network: the empty project's lockfile pins every dependency to the version and integrity in
 * our package-lock.json, so `npm ci --offline` takes them from the npm cache our own install filled (a
 * plain `npm install ./authgate-*.tgz` or `npx ./authgate-*.tgz` would first ask the registry for every
 * package's metadata).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { ROOT } from '../helpers/helm.js';
import { describeRun, npmEnv, run, type Finished } from '../image/replay.js';

/** package.json, as far as this test reads it. */
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  bin: Record<string, string>;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};
/** package-lock.json's entries (lockfile v3). */
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  [field: string]: unknown;
}

const REGISTRY = 'https://registry.npmjs.org';
/** What each npm or authgate run may take, at most. */
const STEP_MS = 120_000;

/**
 * The lockfile of a project depending on the tarball alone: our production entries as they are (same paths:
 * the tarball's dependencies are hoisted the same way), each with the registry URL npm would have recorded
 * (our lockfile omits it, see .npmrc), so `npm ci --offline` needs no metadata from the registry.
 */
function consumerLock(tarball: string, integrity: string): object {
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: `file:${tarball}` } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${tarball}`, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[path] = { ...entry, resolved: entry.resolved ?? `${REGISTRY}/${name}/-/${name.split('/').at(-1)}-${entry.version}.tgz` };
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

describe('the npm package, from its packed tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-pack-'));
  const project = join(dir, 'consumer');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: { ...npmEnv(), npm_config_update_notifier: 'false' } }, STEP_MS);
  const authgate = (args: string[]) =>
    run(join(project, 'node_modules', '.bin', 'authgate'), args, { cwd: project, env: { ...npmEnv(), OIDC_CLIENT_SECRET: 'packed-test-secret', SESSION_KEY: TEST_SESSION_KEY } }, STEP_MS);
  let packed: { filename: string; files: Array<{ path: string }> };

  before(async () => {
    const pack = await npm(['pack', '--json', '--pack-destination', dir], ROOT);
    assert.equal(pack.code, 0, describeRun('npm pack', pack));
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<typeof packed>;
    mkdirSync(project);
    const tarball = readFileSync(join(dir, packed.filename));
    writeFileSync(join(project, packed.filename), tarball);
    const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { [pkg.name]: `file:${packed.filename}` } }));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(consumerLock(packed.filename, integrity), null, 1));
  });

  it('holds the built CLI, the example configuration, LICENSE and README, and no sources or tests', () => {
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tgz')), [`${pkg.name}-${pkg.version}.tgz`]);
    const files = packed.files.map((f) => f.path);
    for (const needed of ['package.json', 'LICENSE', 'README.md', 'config/example.yaml', pkg.bin.authgate?.replace(/^\.\//, '') ?? 'dist/cli.js']) {
      assert.ok(files.includes(needed), `the tarball lacks ${needed}`);
    }
    const stray = files.filter((f) => /^(src|test|bench|demo|helm|scripts|docs)\//.test(f) || f.endsWith('.ts'));
    assert.deepEqual(stray, [], 'the tarball holds files users do not need');
  });

  it('installs offline into an empty project, with its bin', async () => {
    const install = await npm(['ci', '--offline', '--no-audit', '--no-fund'], project);
    assert.equal(install.code, 0, describeRun('npm ci --offline of the tarball', install));
  });

  it("--version prints package.json's version", async () => {
    const result: Finished = await authgate(['--version']);
    assert.equal(result.code, 0, describeRun('authgate --version', result));
    assert.equal(result.stdout.trim(), `authgate ${pkg.version}`);
  });

  it('--check accepts the packaged example configuration', async () => {
    const example = join(project, 'node_modules', pkg.name, 'config', 'example.yaml');
    const result = await authgate(['--config', example, '--check']);
    assert.equal(result.code, 0, describeRun('authgate --check', result));
    assert.match(result.stdout, /example\.yaml: configuration is valid \(\d+ upstreams?\)/);
  });

  it('runs through npx, offline, from the project that installed it', async () => {
    // "--" ends npx's own options: without it npx takes --version for itself.
    const result = await run('npx', ['--offline', '--no', '--', pkg.name, '--version'], { cwd: project, env: npmEnv() }, STEP_MS);
    assert.equal(result.code, 0, describeRun('npx --offline --no -- authgate --version', result));
    assert.equal(result.stdout.trim(), `authgate ${pkg.version}`);
  });
});
