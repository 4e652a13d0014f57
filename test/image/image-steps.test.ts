/**
 * The container image without a container engine: this test reads the Dockerfile and replays its steps
 * in a clean directory, one directory per stage standing in for that stage's filesystem. The build stage
 * compiles the sources it COPYs, the deps stage runs the Dockerfile's own install command, and the
 * runtime stage gets exactly what its COPY lines name. Then the runtime tree must hold no devDependency,
 * pass `--check` on config/example.yaml, and start as the image's non-root user with read-only files:
 * /ping 200, /ready 503 (no provider), the HEALTHCHECK command passes, SIGTERM exits 0, nothing written.
 * The Dockerfile's install command, USER, labels and .dockerignore are checked too, so image and test
 * cannot drift apart.
 */
import assert from 'node:assert/strict';
import { spawn, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort, ROOT, TEST_SESSION_KEY } from '../helpers/gateway.js';

/** The production install, exactly as the Dockerfile's deps stage must run it. */
const INSTALL_COMMAND = 'npm ci --omit=dev --ignore-scripts --no-audit --no-fund';
/** Where the runtime base image keeps node (distroless: not on PATH). */
const IMAGE_NODE = '/nodejs/bin/node';
/** The development dependencies that must never reach the image, named in case package.json loses them. */
const NEVER_IN_IMAGE = ['typescript', 'tsx', 'oidc-provider', 'eslint', '@types/node', 'playwright-core'];
/** How long one replayed command may take before it is killed and the test fails. */
const COMMAND_LIMIT_MS = 150_000;

interface PackageJson {
  name: string;
  version: string;
  description: string;
  license: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  hasInstallScript?: boolean;
  os?: string[];
  cpu?: string[];
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

// ---- reading the Dockerfile -------------------------------------------------------------------------------

/** One instruction, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
/** One FROM and what follows it. */
interface Stage {
  name: string;
  base: string;
  platform: string | undefined;
  instructions: Instruction[];
}
interface Dockerfile {
  globalArgs: Instruction[];
  stages: Stage[];
}

/** Splits the Dockerfile into instructions and stages (comments and parser directives dropped). */
function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    // Docker drops comment lines and empty lines, also inside a continuation.
    if (/^\s*#/.test(line) || line.trim() === '') return;
    if (buffer === '') start = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(buffer);
    assert.ok(match, `Dockerfile line ${start}: cannot read ${buffer}`);
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = '';
  });
  assert.equal(buffer, '', 'the Dockerfile ends inside a continuation line');

  const dockerfile: Dockerfile = { globalArgs: [], stages: [] };
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = splitWords(instruction.args);
      const platform = words[0]?.startsWith('--platform=') ? words.shift()?.slice('--platform='.length) : undefined;
      const [base, as, name] = words;
      assert.ok(base, `Dockerfile line ${instruction.line}: FROM without an image`);
      if (as !== undefined) assert.equal(as.toUpperCase(), 'AS', `Dockerfile line ${instruction.line}`);
      dockerfile.stages.push({ name: name ?? String(dockerfile.stages.length), base, platform, instructions: [] });
    } else if (dockerfile.stages.length === 0) {
      assert.equal(instruction.keyword, 'ARG', `Dockerfile line ${instruction.line}: only ARG may come before the first FROM`);
      dockerfile.globalArgs.push(instruction);
    } else {
      dockerfile.stages[dockerfile.stages.length - 1].instructions.push(instruction);
    }
  }
  return dockerfile;
}

/** Shell-like words: whitespace separates, quotes group (and are removed), a backslash escapes. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  assert.equal(quote, undefined, `unclosed quote in: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** `key=value` words as a map (LABEL, ENV, ARG). */
function keyValues(text: string): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  for (const word of splitWords(text)) {
    const eq = word.indexOf('=');
    if (eq === -1) map.set(word, undefined);
    else map.set(word.slice(0, eq), word.slice(eq + 1));
  }
  return map;
}

/** Replaces `${NAME}` and `$NAME` with the values in `vars`. */
function substitute(text: string, vars: Map<string, string | undefined>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_all, braced: string | undefined, bare: string | undefined) => vars.get((braced ?? bare) as string) ?? '');
}

/** The ARG values a stage sees: its own defaults, or for a bare `ARG NAME` the global default. */
function stageArgs(dockerfile: Dockerfile, stage: Stage): Map<string, string | undefined> {
  const globals = new Map<string, string | undefined>();
  for (const arg of dockerfile.globalArgs) for (const [key, value] of keyValues(arg.args)) globals.set(key, value);
  const vars = new Map<string, string | undefined>();
  for (const arg of of(stage, 'ARG')) {
    for (const [key, value] of keyValues(arg.args)) vars.set(key, value ?? globals.get(key));
  }
  return vars;
}

/** Every instruction of one kind in a stage. */
function of(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword);
}

/** The one instruction of a kind (several of ENTRYPOINT/CMD/USER/HEALTHCHECK: the last one counts, so insist on one). */
function only(stage: Stage, keyword: string): Instruction {
  const found = of(stage, keyword);
  assert.equal(found.length, 1, `the ${stage.name} stage needs exactly one ${keyword}, has ${found.length}`);
  return found[0];
}

/** An exec-form (JSON array) argument list. */
function execForm(instruction: Instruction): string[] {
  assert.ok(instruction.args.startsWith('['), `Dockerfile line ${instruction.line}: ${instruction.keyword} must use the exec (JSON) form`);
  const parsed = JSON.parse(instruction.args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((part) => typeof part === 'string'), `Dockerfile line ${instruction.line}: not a list of strings`);
  return parsed;
}

/** A RUN's command without its BuildKit flags (--mount=..., --network=...), which change nothing the test replays. */
function runCommand(instruction: Instruction): string {
  return instruction.args.replace(/^(?:--\S+\s+)+/, '').replace(/\s+/g, ' ').trim();
}

/** A COPY's parts. */
interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}
function parseCopy(instruction: Instruction): Copy {
  assert.ok(!instruction.args.startsWith('['), `Dockerfile line ${instruction.line}: use the plain form of COPY`);
  const words = splitWords(instruction.args);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
    else assert.ok(/^--(chmod|chown|link)\b/.test(flag), `Dockerfile line ${instruction.line}: the test does not replay COPY ${flag}`);
  }
  const dest = words.pop();
  assert.ok(dest !== undefined && words.length > 0, `Dockerfile line ${instruction.line}: COPY needs a source and a destination`);
  return { from, sources: words, dest, line: instruction.line };
}

// ---- reading .dockerignore --------------------------------------------------------------------------------

/** Docker's .dockerignore rules: Go filepath.Match plus `**`, `!` exceptions, the last matching rule wins, and a
 * rule that matches a parent directory applies to everything under it. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negated, regex: globToRegExp(pattern) };
    });
  return (path) => {
    const parts = path.split('/');
    const candidates = parts.map((_part, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.negated;
    return ignored;
  };
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        source += '(?:.*/)?';
      } else source += '.*';
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

// ---- processes and files ----------------------------------------------------------------------------------

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}
/** A started child process with its output collected. */
interface Running {
  child: ReturnType<typeof spawn>;
  stdout: () => string;
  stderr: () => string;
  finished: Promise<Finished>;
}

function start(command: string, args: string[], options: SpawnOptions, limitMs = COMMAND_LIMIT_MS): Running {
  const began = performance.now();
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += String(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += String(chunk)));
  const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const finished = new Promise<Finished>((resolve, reject) => {
    child.once('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - began) });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, finished };
}

async function run(command: string, args: string[], options: SpawnOptions, limitMs?: number): Promise<Finished> {
  return start(command, args, options, limitMs).finished;
}

function describeRun(what: string, result: Finished): string {
  return `${what}: exit ${result.code} signal ${result.signal}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`;
}

/** The environment for npm: the caller's, without what an enclosing `npm test` or the shell would change about the install. */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|cafile|ca|strict_ssl|proxy|https_proxy|noproxy|fetch_\w+)$/i;
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.test(key)) continue;
    if (key === 'NODE_ENV' || key === 'NODE_OPTIONS' || key === 'NODE_PATH') continue;
    env[key] = value;
  }
  return env;
}

/** Every file and directory under `dir` (symlinks not followed) with what would change if something wrote there. */
function snapshot(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    entries.set(path, `${stat.mode} ${stat.size} ${stat.mtimeMs} ${stat.ctimeMs}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return entries;
}

/** Adds or removes write permission on everything under `dir` (symlinks left alone: chmod would follow them). */
function setWritable(dir: string, writable: boolean): void {
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    chmodSync(path, writable ? stat.mode | 0o200 : stat.mode & ~0o222);
  };
  walk(dir);
}

/** Every file under `dir`, as paths relative to `base`. */
function filesUnder(base: string, dir: string): string[] {
  const path = join(base, dir);
  if (!statSync(path).isDirectory()) return [dir];
  return readdirSync(path).flatMap((name) => filesUnder(base, posix.join(dir, name)));
}

// ---- the tests --------------------------------------------------------------------------------------------

const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const stageByName = new Map(dockerfile.stages.map((stage) => [stage.name, stage]));
const runtime = dockerfile.stages[dockerfile.stages.length - 1];
const runtimeCopies = of(runtime, 'COPY').map(parseCopy);
/** The stage whose node_modules the runtime stage takes. */
const depsStage = (() => {
  const copy = runtimeCopies.find((c) => c.from !== undefined && c.sources.some((source) => source.endsWith('/node_modules')));
  assert.ok(copy?.from, 'the runtime stage must COPY node_modules from an install stage');
  const stage = stageByName.get(copy.from);
  assert.ok(stage, `no stage named ${copy.from}`);
  return stage;
})();

describe('Dockerfile and .dockerignore', () => {
  it('has a build stage, a production-dependencies stage and a runtime stage on one current LTS major', () => {
    assert.ok(dockerfile.stages.length >= 3, 'build, deps and runtime stages');
    const globals = stageArgs(dockerfile, { name: 'global', base: '', platform: undefined, instructions: dockerfile.globalArgs });
    const major = Number(globals.get('NODE_MAJOR'));
    // Even majors are the LTS lines; 20 is past its end of life and 22 leaves maintenance in April 2027.
    assert.ok(Number.isInteger(major) && major >= 24 && major % 2 === 0, `NODE_MAJOR=${major} is not a current LTS major`);
    for (const stage of dockerfile.stages) {
      assert.ok(stage.base.includes('${NODE_MAJOR}'), `stage ${stage.name} (${stage.base}) must follow NODE_MAJOR`);
      // Debian 12 everywhere: sodium-native's prebuilt binary links against the glibc it was installed with.
      assert.match(stage.base, /bookworm|debian12/, `stage ${stage.name} (${stage.base}) must be Debian 12 like the others`);
    }
    assert.match(runtime.base, /^gcr\.io\/distroless\/nodejs\$\{NODE_MAJOR\}-debian12:nonroot$/);
    assert.ok(of(runtime, 'RUN').length === 0, 'the runtime stage runs nothing (distroless has no shell)');
  });

  it('installs production dependencies with exactly the command this test replays', () => {
    const runs = of(depsStage, 'RUN').map(runCommand);
    assert.deepEqual(runs, [INSTALL_COMMAND], `the ${depsStage.name} stage must run only: ${INSTALL_COMMAND}`);
    // What the install sees: the manifest and the lockfile, nothing else.
    const copied = of(depsStage, 'COPY').map(parseCopy);
    assert.deepEqual(copied.map((c) => [c.from, c.sources]), [[undefined, ['package.json', 'package-lock.json']]]);
  });

  it('builds with `npm run build`, which is the tsc build of src', () => {
    const copy = runtimeCopies.find((c) => c.sources.some((source) => source.endsWith('/dist')));
    assert.ok(copy?.from, 'the runtime stage must COPY dist from the build stage');
    const build = stageByName.get(copy.from);
    assert.ok(build, `no stage named ${copy.from}`);
    assert.ok(of(build, 'RUN').map(runCommand).includes('npm run build'));
    assert.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json');
  });

  it('runs as a numeric non-root user from /app, port 4180, NODE_ENV=production, node on dist/cli.js', () => {
    const user = only(runtime, 'USER').args;
    const [uid, gid] = user.split(':');
    assert.match(uid, /^\d+$/, `USER ${user}: numeric, so Kubernetes runAsNonRoot can check it`);
    assert.notEqual(Number(uid), 0, 'USER must not be root');
    if (gid !== undefined) assert.notEqual(Number(gid), 0, 'the group must not be root');
    assert.deepEqual(of(runtime, 'WORKDIR').map((w) => w.args), ['/app']);
    assert.deepEqual(of(runtime, 'EXPOSE').map((e) => e.args), ['4180']);
    const env = keyValues(of(runtime, 'ENV').map((e) => e.args).join(' '));
    assert.equal(env.get('NODE_ENV'), 'production');
    assert.equal(env.get('AUTHGATE_HEALTHCHECK_URL'), 'http://127.0.0.1:4180/ping', 'the healthcheck asks the default listen port');
    assert.deepEqual(execForm(only(runtime, 'ENTRYPOINT')), [IMAGE_NODE, '--max-semi-space-size=8', '/app/dist/cli.js']);
    assert.deepEqual(execForm(only(runtime, 'CMD')), ['--config', '/etc/authgate/config.yaml']);
    assert.equal(pkg.bin.authgate, 'dist/cli.js');
  });

  it('has a HEALTHCHECK that runs node (no curl, no shell) against /ping', () => {
    const healthcheck = only(runtime, 'HEALTHCHECK').args;
    const cmd = /\bCMD\s+(\[[\s\S]*\])$/.exec(healthcheck);
    assert.ok(cmd, 'HEALTHCHECK ... CMD [exec form]');
    const args = JSON.parse(cmd[1]) as string[];
    assert.equal(args[0], IMAGE_NODE);
    assert.ok(args.join(' ').includes('AUTHGATE_HEALTHCHECK_URL'));
  });

  it('carries the OCI labels, in step with package.json', () => {
    const labels = keyValues(of(runtime, 'LABEL').map((l) => l.args).join(' '));
    const vars = stageArgs(dockerfile, runtime);
    const label = (name: string) => {
      const value = labels.get(`org.opencontainers.image.${name}`);
      assert.ok(value !== undefined, `LABEL org.opencontainers.image.${name} is missing`);
      return substitute(value, vars);
    };
    assert.equal(label('title'), pkg.name);
    assert.equal(label('description'), pkg.description);
    assert.equal(label('licenses'), pkg.license);
    assert.equal(label('version'), pkg.version, 'ARG VERSION defaults to package.json version');
    assert.equal(labels.get('org.opencontainers.image.source'), '${SOURCE}', 'the source label comes from ARG SOURCE');
    assert.ok(vars.has('SOURCE'), 'ARG SOURCE in the runtime stage');
    assert.equal(label('base.name'), runtime.base.replace('${NODE_MAJOR}', vars.get('NODE_MAJOR') ?? ''));
  });

  it('needs no install script and nothing platform-specific in production (deps are installed on the build platform)', () => {
    const production = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev);
    assert.ok(production.length > 0);
    assert.deepEqual(production.filter(([, entry]) => entry.hasInstallScript).map(([path]) => path), [], '--ignore-scripts would skip these');
    assert.deepEqual(production.filter(([, entry]) => entry.os || entry.cpu).map(([path]) => path), [], 'the deps stage runs on $BUILDPLATFORM');
  });

  it('.dockerignore lets in everything the Dockerfile COPYs from the context and keeps the rest out', () => {
    const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
    const contextSources = dockerfile.stages.flatMap((stage) => of(stage, 'COPY').map(parseCopy)).filter((c) => c.from === undefined);
    const files = contextSources.flatMap((c) => c.sources).flatMap((source) => filesUnder(ROOT, posix.normalize(source)));
    assert.ok(files.includes('src/cli.ts') && files.includes('config/example.yaml'));
    assert.deepEqual(files.filter(ignored), [], 'COPY sources that .dockerignore leaves out');
    for (const path of ['node_modules/fastify/package.json', 'dist/cli.js', 'test/image/image-steps.test.ts', '.git/HEAD', 'coverage/x', 'CHANGELOG.md', 'docs/docker.md', '.env', 'helm/authgate/Chart.yaml']) {
      assert.ok(ignored(path), `.dockerignore must leave out ${path}`);
    }
    assert.ok(!ignored('README.md'), 'README.md stays in the context');
  });
});

describe('the image steps replayed in a clean directory', { timeout: 180_000 }, () => {
  /** One directory per stage, standing in for that stage's root filesystem. */
  const work = mkdtempSync(join(tmpdir(), 'authgate-image-'));
  const roots = new Map(dockerfile.stages.map((stage) => [stage.name, join(work, stage.name)]));
  const runtimeRoot = join(work, runtime.name);
  const inRuntime = (path: string) => join(runtimeRoot, path);
  /** As root, run the gateway as the image's user, for whom the files are read-only like the image's; otherwise as ourselves. */
  const asImageUser = ((): { uid?: number; gid?: number } => {
    const [uid, gid = uid] = only(runtime, 'USER').args.split(':');
    if (process.getuid?.() !== 0 || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) return {};
    return { uid: Number(uid), gid: Number(gid) };
  })();
  const imageEnv = keyValues(of(runtime, 'ENV').map((e) => e.args).join(' '));
  const timings: Record<string, number> = {};
  const home = join(work, 'home');
  const tmp = join(work, 'tmp');
  const secrets = { OIDC_CLIENT_SECRET: 'image-steps-client-secret', SESSION_KEY: TEST_SESSION_KEY };

  /** The environment of `docker run -e OIDC_CLIENT_SECRET -e SESSION_KEY`: the image's ENV and nothing from this process but PATH. */
  const runtimeEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: tmp,
    ...Object.fromEntries([...imageEnv].map(([key, value]) => [key, value ?? ''])),
    ...secrets,
    ...extra,
  });
  /** ENTRYPOINT + arguments, with the image's paths moved under the runtime stage's directory. */
  const entrypoint = (args: string[]): [string, string[]] => {
    const [node, ...rest] = execForm(only(runtime, 'ENTRYPOINT'));
    assert.equal(node, IMAGE_NODE);
    return [process.execPath, [...rest, ...args].map((arg) => (arg.startsWith('/') ? inRuntime(arg) : arg))];
  };
  const workdir = inRuntime('/app');

  /** Replays one stage: WORKDIR, COPY (from the context or an earlier stage) and RUN. */
  async function replay(stage: Stage): Promise<void> {
    const root = roots.get(stage.name) as string;
    let cwd = '/';
    for (const instruction of stage.instructions) {
      if (instruction.keyword === 'WORKDIR') {
        cwd = posix.resolve(cwd, instruction.args);
        mkdirSync(join(root, cwd), { recursive: true });
      } else if (instruction.keyword === 'COPY') {
        const copy = parseCopy(instruction);
        for (const source of copy.sources) {
          const from = copy.from === undefined ? join(ROOT, source) : join(roots.get(copy.from) ?? assert.fail(`no stage ${copy.from}`), source);
          assert.ok(copy.from === undefined || posix.isAbsolute(source), `Dockerfile line ${copy.line}: COPY --from with an absolute path`);
          const isDir = statSync(from).isDirectory();
          const dest = posix.resolve(cwd, copy.dest);
          const target = isDir || !(copy.dest.endsWith('/') || copy.sources.length > 1) ? dest : posix.join(dest, posix.basename(source));
          mkdirSync(dirname(join(root, target)), { recursive: true });
          cpSync(from, join(root, target), { recursive: true, verbatimSymlinks: true });
        }
      } else if (instruction.keyword === 'RUN') {
        const command = runCommand(instruction);
        const here = join(root, cwd);
        if (stage !== depsStage && /^npm ci\b/.test(command) && !command.includes('--omit=dev')) {
          // The full install of the build stage: the repository's own node_modules is that install of the same lockfile.
          symlinkSync(join(ROOT, 'node_modules'), join(here, 'node_modules'), 'dir');
          continue;
        }
        assert.match(command, /^npm (ci|run build)\b/, `Dockerfile line ${instruction.line}: the test does not know how to replay RUN ${command}`);
        const [npm, ...args] = splitWords(command);
        const result = await run(npm, args, { cwd: here, env: npmEnv() });
        timings[`${stage.name}: ${command}`] = result.ms;
        assert.equal(result.code, 0, describeRun(command, result));
      }
    }
  }

  before(async () => {
    chmodSync(work, 0o755);
    // Nothing above the clean directory may lend it packages: Node looks for node_modules in every parent.
    for (let dir = work; dir !== dirname(dir); dir = dirname(dir)) {
      assert.ok(!existsSync(join(dirname(dir), 'node_modules')), `${dirname(dir)}/node_modules would leak into the replay`);
    }
    for (const stage of dockerfile.stages) {
      mkdirSync(roots.get(stage.name) as string);
      await replay(stage);
    }
    mkdirSync(home);
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    // The gateway's config, where `docker run -v ./config.yaml:/etc/authgate/config.yaml:ro` puts it.
    mkdirSync(inRuntime('/etc/authgate'), { recursive: true });
    // Read-only like `docker run --read-only`: enforced for the image's user when this test runs as root.
    setWritable(runtimeRoot, false);
    setWritable(home, false);
  }, { timeout: 170_000 });

  after(() => {
    if (existsSync(work)) {
      setWritable(work, true);
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('holds exactly node_modules, package.json, dist and config/example.yaml in /app', (t) => {
    t.diagnostic(`replay timings (ms): ${JSON.stringify(timings)}`);
    assert.deepEqual(readdirSync(workdir).sort(), ['config', 'dist', 'node_modules', 'package.json']);
    assert.deepEqual(readdirSync(join(workdir, 'config')), ['example.yaml']);
    assert.ok(existsSync(join(workdir, 'dist/cli.js')));
    assert.ok(!existsSync(join(workdir, 'dist/test')) && !existsSync(join(workdir, 'src')), 'sources and tests stay out');
  });

  it('installed every production dependency and no development one', () => {
    const has = (path: string) => existsSync(join(workdir, path));
    for (const name of Object.keys(pkg.dependencies)) assert.ok(has(`node_modules/${name}/package.json`), `${name} is missing`);
    for (const name of NEVER_IN_IMAGE) assert.ok(!has(`node_modules/${name}`), `${name} is in the image`);
    // A devDependency that a production package also needs (ws, for one) is rightly installed.
    for (const name of Object.keys(pkg.devDependencies)) {
      if (lock.packages[`node_modules/${name}`]?.dev) assert.ok(!has(`node_modules/${name}`), `devDependency ${name} is in the image`);
    }
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && entry.dev).map(([path]) => path);
    assert.ok(devOnly.length > 0);
    assert.deepEqual(devOnly.filter(has), [], 'packages the lockfile marks dev-only');
    const needed = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev && !entry.optional && !entry.devOptional);
    assert.deepEqual(needed.map(([path]) => path).filter((path) => !has(path)), [], 'production packages missing');
  });

  it('passes `authgate --config config/example.yaml --check` from WORKDIR /app', async () => {
    const [node, args] = entrypoint(['--config', 'config/example.yaml', '--check']);
    const result = await run(node, args, { cwd: workdir, env: runtimeEnv(), ...asImageUser }, 30_000);
    timings.check = result.ms;
    assert.equal(result.code, 0, describeRun('--check', result));
    assert.equal(result.stdout, 'config/example.yaml: configuration is valid (5 upstreams)\n');
    assert.equal(result.stderr, '');
  });

  it('starts as the image user on read-only files: /ping 200, /ready 503, HEALTHCHECK passes, SIGTERM exits 0, nothing written', { timeout: 60_000 }, async (t) => {
    const [port, providerPort, upstreamPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const url = `http://127.0.0.1:${port}`;
    // Written as root before the tree went read-only would be simpler, but the port is only known now.
    const configPath = inRuntime('/etc/authgate/config.yaml');
    chmodSync(dirname(configPath), 0o755);
    writeFileSync(
      configPath,
      stringify({
        server: { listen: `127.0.0.1:${port}`, publicUrl: url, shutdownGrace: '5s' },
        // Nobody listens there: discovery keeps failing, so the gateway lives but is not ready.
        oidc: { issuer: `http://127.0.0.1:${providerPort}`, clientId: 'authgate', clientSecret: '${OIDC_CLIENT_SECRET}', allowInsecureHttp: true },
        session: { keys: ['${SESSION_KEY}'] },
        upstreams: [{ name: 'app', url: `http://127.0.0.1:${upstreamPort}` }],
      }),
      { mode: 0o444 },
    );
    chmodSync(dirname(configPath), 0o555);
    const filesBefore = snapshot(runtimeRoot);

    // The image's ENTRYPOINT and CMD, unchanged.
    const [node, args] = entrypoint(execForm(only(runtime, 'CMD')));
    const began = performance.now();
    const gateway = start(node, args, { cwd: workdir, env: runtimeEnv(), ...asImageUser }, 50_000);
    try {
      let ping: Response | undefined;
      for (let deadline = Date.now() + 20_000; Date.now() < deadline; ) {
        assert.equal(gateway.child.exitCode, null, describeRun('the gateway exited', { code: gateway.child.exitCode, signal: null, stdout: gateway.stdout(), stderr: gateway.stderr(), ms: 0 }));
        ping = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
        if (ping?.status === 200) break;
        await ping?.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(ping?.status, 200, `/ping never answered 200; stdout: ${gateway.stdout()} stderr: ${gateway.stderr()}`);
      assert.equal(await ping.text(), 'OK');
      timings.startToPing = Math.round(performance.now() - began);

      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 503, 'not ready while the provider is unreachable');
      assert.equal(((await ready.json()) as { provider: boolean }).provider, false);

      // The image's HEALTHCHECK command, pointed at this port as `-e AUTHGATE_HEALTHCHECK_URL` would.
      const healthArgs = JSON.parse((/\bCMD\s+(\[[\s\S]*\])$/.exec(only(runtime, 'HEALTHCHECK').args) ?? assert.fail('HEALTHCHECK CMD'))[1]) as string[];
      const healthy = await run(process.execPath, healthArgs.slice(1), { cwd: workdir, env: runtimeEnv({ AUTHGATE_HEALTHCHECK_URL: `${url}/ping` }), ...asImageUser }, 15_000);
      assert.equal(healthy.code, 0, describeRun('HEALTHCHECK against the gateway', healthy));
      const unhealthy = await run(process.execPath, healthArgs.slice(1), { cwd: workdir, env: runtimeEnv({ AUTHGATE_HEALTHCHECK_URL: `http://127.0.0.1:${upstreamPort}/ping` }), ...asImageUser }, 15_000);
      assert.equal(unhealthy.code, 1, describeRun('HEALTHCHECK against a closed port', unhealthy));

      const stopAt = performance.now();
      gateway.child.kill('SIGTERM');
      const exit = await gateway.finished;
      timings.sigtermToExit = Math.round(performance.now() - stopAt);
      assert.equal(exit.code, 0, describeRun('after SIGTERM', exit));
      assert.equal(exit.stderr, '', 'nothing on stderr');
      const lines = exit.stdout.trimEnd().split('\n');
      for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
      assert.ok(lines.some((line) => (JSON.parse(line) as { msg?: string }).msg === 'stopped'), 'logs that it stopped');
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    }

    assert.deepEqual([...snapshot(runtimeRoot)].filter(([path, stat]) => filesBefore.get(path) !== stat), [], 'files changed under the image root');
    assert.deepEqual([...snapshot(runtimeRoot).keys()].filter((path) => !filesBefore.has(path)), [], 'files created under the image root');
    assert.deepEqual(readdirSync(tmp), [], 'nothing written to /tmp');
    assert.deepEqual(readdirSync(home), [], 'nothing written to $HOME');
    t.diagnostic(`run as ${asImageUser.uid === undefined ? `uid ${process.getuid?.()}` : `the image user ${asImageUser.uid}`}; timings (ms): ${JSON.stringify(timings)}`);
  });
});
