/**
 * The Dockerfile and .dockerignore hold what the image-steps replay relies on: the stages on one LTS major,
 * the exact production install command, the build, a numeric non-root user, a node HEALTHCHECK, OCI labels
 * in step with package.json, no install scripts, and a .dockerignore that lets in exactly what is copied.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { dockerfile, depsStage, execForm, IMAGE_NODE, INSTALL_COMMAND, keyValues, lock, of, only, parseCopy, pkg, runCommand, runtime, runtimeCopies, stageArgs, stageByName, substitute } from './dockerfile.js';
import { dockerignore } from './dockerignore.js';
import { filesUnder } from './replay.js';

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
