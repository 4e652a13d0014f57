/**
 * .github/workflows/release.yml, which our CI cannot run (no container engine), read as data: on a v* tag it
 * tests, builds for amd64 and arm64, scans, pushes the image and the chart; and it names the image, the
 * chart and the Node.js major that the chart, the Dockerfile and the repository use, each in one place.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/helm.js';
import { dockerfile, stageArgs } from './dockerfile.js';
import { IMAGE } from './image-name.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  container?: string | { image: string };
  steps: Step[];
  permissions?: Record<string, string>;
}
interface Workflow {
  on: { push?: { tags?: string[] } };
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const FILE = join(ROOT, '.github', 'workflows', 'release.yml');
const text = readFileSync(FILE, 'utf8');
const workflow = parse(text) as Workflow;
/** The Dockerfile's Node.js major (the global ARG). */
const nodeMajor = stageArgs(dockerfile, { name: 'global', base: '', platform: undefined, instructions: dockerfile.globalArgs }).get('NODE_MAJOR');

/** Every step of a job, with its commands joined. */
const steps = (job: string): Step[] => {
  const found = workflow.jobs[job];
  assert.ok(found, `no job ${job}`);
  return found.steps;
};
const runs = (job: string): string => steps(job).map((s) => s.run ?? '').join('\n');
const needs = (job: string): string[] => [workflow.jobs[job]?.needs ?? []].flat();

describe('.github/workflows/release.yml', () => {
  it('runs on a v* tag', () => {
    assert.deepEqual(workflow.on.push?.tags, ['v*']);
  });

  it("names the chart's image, the chart directory and the Dockerfile's Node.js major once, in env", () => {
    assert.equal(workflow.env.IMAGE, IMAGE);
    assert.equal(workflow.env.CHART_DIR, 'helm/authgate');
    assert.ok(existsSync(join(ROOT, workflow.env.CHART_DIR, 'Chart.yaml')), 'CHART_DIR holds no chart');
    assert.equal(workflow.env.NODE_VERSION, nodeMajor);
    // Everything else refers to env: the name, the chart path and the Node.js version are written nowhere else.
    assert.equal(text.split(IMAGE).length - 1, 1, `${IMAGE} is written more than once`);
    assert.equal(text.split(workflow.env.CHART_DIR).length - 1, 1, 'the chart directory is written more than once');
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps) {
        if (step.uses?.startsWith('actions/setup-node@')) assert.equal(step.with?.['node-version'], '${{ env.NODE_VERSION }}');
      }
    }
  });

  it("tests on the image's Node.js major, on Debian 12, with .ci/run (npm ci, npm test)", () => {
    const container = workflow.jobs.test?.container;
    assert.equal(typeof container === 'string' ? container : container?.image, `node:${nodeMajor}-bookworm`);
    assert.match(runs('test'), /^bash \.ci\/run$/m);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci\b/m);
    assert.match(ci, /^npm test\b/m);
    assert.match(runs('test'), /GITHUB_REF_NAME#v[\s\S]*package\.json/, 'the tag is checked against package.json');
  });

  it('builds for amd64 and arm64, scans with trivy before pushing, and pushes $IMAGE:$VERSION', () => {
    assert.deepEqual(needs('image'), ['test']);
    const image = steps('image');
    const scan = image.findIndex((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    const push = image.findIndex((s) => /docker buildx build[^\n]*--push/.test(s.run ?? ''));
    assert.ok(scan > 0 && push > scan, 'a trivy scan, then the push');
    assert.equal(image[scan]?.with?.['image-ref'], '${{ env.IMAGE }}:${{ env.VERSION }}');
    assert.equal(image[scan]?.with?.['exit-code'], '1', 'findings fail the release');
    assert.match(image[push]?.run ?? '', /--platform linux\/amd64,linux\/arm64/);
    assert.match(image[push]?.run ?? '', /-t "\$IMAGE:\$VERSION"/);
    assert.equal(workflow.jobs.image?.permissions?.packages, 'write');
  });

  it('packages the chart at the released version and pushes it to an OCI registry', () => {
    assert.ok(needs('chart').includes('image'), 'the chart is pushed after its image');
    assert.match(runs('chart'), /helm package "\$CHART_DIR" --version "\$VERSION" --app-version "\$VERSION"/);
    assert.match(runs('chart'), /helm push "chart-out\/authgate-\$VERSION\.tgz" "\$CHART_REPOSITORY"/);
    assert.match(workflow.env.CHART_REPOSITORY ?? '', /^oci:\/\//);
  });

  it('publishes to npm only when asked, and never writes a secret into a script', () => {
    assert.match(runs('npm'), /npm publish/);
    assert.match(String((workflow.jobs.npm as Job & { if?: string }).if), /vars\.NPM_PUBLISH/);
    assert.doesNotMatch(runs('npm') + runs('chart') + runs('image') + runs('test'), /\$\{\{\s*secrets\./, 'secrets belong in env:, not in run scripts');
  });
});
