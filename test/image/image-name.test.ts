/**
 * One image name everywhere: the Dockerfile's OCI labels, the chart's default image.repository, every image
 * reference in the docs (docs/**, the READMEs and the Dockerfile's own comments), with a version tag equal
 * to package.json's, and docs/docker.md giving the build and push commands under that name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ROOT } from '../helpers/helm.js';
import { dockerfileText, keyValues, of, pkg, runtime, stageArgs, dockerfile } from './dockerfile.js';
import { documentationFiles, fromRoot, IMAGE, imageReferences, type ImageReference } from './image-name.js';

const chart = parse(readFileSync(join(ROOT, 'helm', 'authgate', 'Chart.yaml'), 'utf8')) as { home: string; sources: string[] };

/** Where a reference is, for messages. */
const at = (ref: ImageReference) => `${fromRoot(ref.file)}:${ref.line}`;

describe('the image name', () => {
  it('is a ghcr.io name whose repository the chart and the Dockerfile name as the source', () => {
    const m = /^ghcr\.io\/([\w.-]+)\/([\w.-]+)$/.exec(IMAGE);
    assert.ok(m, `the chart's image.repository ${IMAGE} is not ghcr.io/OWNER/NAME`);
    const repository = `https://github.com/${m[1]}/${m[2]}`;
    assert.equal(chart.home, repository, 'Chart.yaml home');
    assert.deepEqual(chart.sources, [repository], 'Chart.yaml sources');
    assert.equal(stageArgs(dockerfile, runtime).get('SOURCE'), repository, "the Dockerfile's ARG SOURCE default");
  });

  it("is the Dockerfile's org.opencontainers.image.url label", () => {
    const labels = keyValues(of(runtime, 'LABEL').map((l) => l.args).join(' '));
    assert.equal(labels.get('org.opencontainers.image.url'), `https://${IMAGE}`);
  });

  it('is the only image name the docs and the Dockerfile use for authgate, tagged with package.json version', () => {
    const refs = [...documentationFiles(), join(ROOT, 'Dockerfile')].flatMap((file) =>
      imageReferences(file.endsWith('Dockerfile') ? dockerfileText : readFileSync(file, 'utf8'), file),
    );
    assert.ok(refs.length >= 5, `only ${refs.length} image references found: is the pattern still right?`);
    for (const ref of refs) {
      assert.equal(ref.name, IMAGE, `${at(ref)} names the image ${ref.name}, not ${IMAGE}`);
      // A literal version must be the current one; a placeholder ($VERSION, ${TAG}) is fine.
      if (ref.tag && /^v?\d/.test(ref.tag)) assert.equal(ref.tag, pkg.version, `${at(ref)} tags ${IMAGE}:${ref.tag}, not the version ${pkg.version}`);
    }
    for (const file of ['docs/docker.md', 'docs/deployment.md', 'docs/helm.md']) {
      assert.ok(refs.some((r) => r.file === join(ROOT, file)), `${file} names no image`);
    }
  });

  it('is what docs/docker.md builds and pushes, also for several platforms', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'docker.md'), 'utf8');
    const image = IMAGE.replaceAll('.', '\\.');
    assert.match(doc, new RegExp(`docker build [^\\n]*-t ${image}:`));
    assert.match(doc, new RegExp(`docker push ${image}:`));
    assert.match(doc, new RegExp(`docker buildx build --platform linux/amd64,linux/arm64[^\`]*-t ${image}:\\S+ --push`));
  });

  it('finds references of every form it checks (the pattern can fail)', () => {
    const sample = [
      'docker build -t authgate .',
      '  image: registry.example.com/authgate:0.0.9',
      'docker run ghcr.io/someone/authgate@sha256:abc',
      'see https://github.com/authgate/authgate and ghcr.io/authgate/authgate-operator',
      '  image: registry.example.com/legacy-app:2.4.1',
    ].join('\n');
    assert.deepEqual(
      imageReferences(sample, 'sample').map((r) => [r.line, r.name, r.tag]),
      [
        [2, 'registry.example.com/authgate', '0.0.9'],
        [3, 'ghcr.io/someone/authgate', undefined],
        [1, 'authgate', undefined],
      ],
    );
  });
});
