/**
 * The image's one name, and where it is written: the chart's default image.repository is the reference the
 * Dockerfile labels, the docs and the release workflow are compared with (image-name.test.ts,
 * release-workflow.test.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/helm.js';

/** The chart's values.yaml. */
const chartValues = parse(readFileSync(join(ROOT, 'helm', 'authgate', 'values.yaml'), 'utf8')) as { image: { repository: string } };
/** The image's name (registry and repository, no tag): the chart's default image.repository. */
export const IMAGE = chartValues.image.repository;

/** One image reference found in a file. */
export interface ImageReference {
  file: string;
  line: number;
  /** Registry and repository, e.g. "ghcr.io/authgate/authgate". */
  name: string;
  /** The tag after ":", when one is written. */
  tag?: string;
}

/**
 * A registry-qualified reference whose repository ends in "authgate": a dotted host, path segments, and an
 * optional tag. Not preceded by "/" or a word character, so https://github.com/authgate/authgate (a URL) is
 * not one.
 */
const QUALIFIED = /(?<![\w/.@-])((?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?\/(?:[\w.-]+\/)*authgate)(?::([\w.${}-]+))?(?![\w/-])/g;
/** `-t NAME` / `--tag NAME` of docker build and the YAML `image: NAME` key, whatever NAME is. */
const TAGGED = /(?:\s(?:-t|--tag)[\s=]+|^\s*-?\s*image:\s*["']?)([^\s"'`]+)/gm;

/** Every image reference to authgate in `text`: registry-qualified ones, and any `-t` or `image:` naming authgate. */
export function imageReferences(text: string, file: string): ImageReference[] {
  const found = new Map<string, ImageReference>();
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(QUALIFIED)) {
    found.set(`${m.index}`, { file, line: lineOf(m.index), name: m[1], ...(m[2] ? { tag: m[2] } : {}) });
  }
  for (const m of text.matchAll(TAGGED)) {
    const ref = m[1];
    const at = m.index + m[0].length - ref.length;
    // Only references to this image: the last path segment (before a tag or digest) is "authgate".
    const name = ref.replace(/@.*$/, '').replace(/:[^/]*$/, '');
    if (name.split('/').at(-1) !== 'authgate' || found.has(`${at}`)) continue;
    const tag = ref.slice(name.length).replace(/^:/, '');
    found.set(`${at}`, { file, line: lineOf(at), name, ...(tag && !tag.startsWith('@') ? { tag } : {}) });
  }
  return [...found.values()];
}

/** The Markdown files under docs/ (recursively), the chart's README and the repository's README. */
export function documentationFiles(): string[] {
  const files: string[] = [join(ROOT, 'README.md'), join(ROOT, 'helm', 'authgate', 'README.md')];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.md')) files.push(path);
    }
  };
  walk(join(ROOT, 'docs'));
  return files;
}

/** A file's path relative to the repository root, for messages. */
export function fromRoot(path: string): string {
  return relative(ROOT, path);
}
