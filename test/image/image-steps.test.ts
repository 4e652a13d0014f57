/**
 * The container image without a container engine: this test reads the Dockerfile and replays its steps
 * in a clean directory, one directory per stage standing in for that stage's filesystem. The build stage
 * compiles the sources it COPYs, the deps stage runs the Dockerfile's own install command, and the
 * runtime stage gets exactly what its COPY lines name. Then the runtime tree must hold no devDependency,
 * pass `--check` on config/example.yaml, and start as the image's non-root user with read-only files:
 * /ping 200, /ready 503 (no provider), the HEALTHCHECK command passes, SIGTERM exits 0, nothing written.
 * The Dockerfile's install command, USER, labels and .dockerignore are checked in dockerfile.test.ts, so
 * image and test cannot drift apart.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { freePort, ROOT, TEST_SESSION_KEY } from '../helpers/gateway.js';
import { dockerfile, depsStage, execForm, IMAGE_NODE, keyValues, lock, NEVER_IN_IMAGE, of, only, parseCopy, pkg, runCommand, runtime, splitWords, type Stage } from './dockerfile.js';
import { describeRun, npmEnv, run, setWritable, snapshot, start } from './replay.js';

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
