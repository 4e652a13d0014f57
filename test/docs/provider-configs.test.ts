/**
 * The provider pages in docs/providers/ keep their promise: each has the sections a reader looks for, every
 * authgate YAML block on it passes the real `authgate --check` (a whole configuration as it stands, a
 * fragment laid over the page's minimal configuration), its relative links name files that exist, and the
 * index lists every page. Blocks fenced as ```yaml with a second word (```yaml provider) are the provider's
 * own configuration and are only parsed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { ROOT, runCli, TEST_SESSION_KEY, type GatewayProcess } from '../helpers/gateway.js';

const DIR = join(ROOT, 'docs', 'providers');
/** The pages, one per provider; README.md is the index. */
const PAGES = readdirSync(DIR).filter((name) => name.endsWith('.md') && name !== 'README.md');
/** The providers issue 16 asks for; a page may be added, none may go missing. */
const EXPECTED = ['auth0.md', 'dex.md', 'entra-id.md', 'gitlab.md', 'google.md', 'keycloak.md', 'okta.md'];
/** The second-level headings every page has, in this order (others may sit between them). */
const SECTIONS = ['Register the client', 'Issuer', 'Scopes and claims', 'Groups', 'Refresh tokens', 'Email and the user claim', 'Sign-out', 'Minimal configuration'];
/** The environment the pages' configurations name: fake but well-formed secrets. */
const ENV = { OIDC_CLIENT_SECRET: 'fake-client-secret-for-docs', SESSION_KEY: TEST_SESSION_KEY, AUTHGATE_CONFIG: '' };
/** The top-level keys every whole configuration has. */
const REQUIRED_KEYS = ['server', 'oidc', 'session', 'upstreams'];

type Tree = Record<string, unknown>;

interface Block {
  /** The words after the opening fence: ['yaml'] or ['yaml', 'provider']. */
  info: string[];
  text: string;
  /** The `## ` section it sits in. */
  section: string;
}

/** The fenced code blocks of a page, with the section each is in. */
function blocksOf(page: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: { info: string[]; lines: string[] } | undefined;
  for (const line of page.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ info: open.info, text: open.lines.join('\n'), section });
        open = undefined;
      } else open.lines.push(line);
    } else if (line.startsWith('```')) open = { info: line.slice(3).trim().split(/\s+/), lines: [] };
    else if (line.startsWith('## ')) section = line.slice(3).trim();
  }
  assert.equal(open, undefined, 'every code fence is closed');
  return blocks;
}

/** The `## ` headings of a page, outside code blocks. */
function sectionsOf(page: string): string[] {
  return page
    .replace(/```[\s\S]*?```/g, '')
    .split('\n')
    .filter((line) => line.startsWith('## '))
    .map((line) => line.slice(3).trim());
}

/** Markdown link targets of a page, outside fenced code blocks. */
function linkTargets(page: string): string[] {
  return [...page.replace(/```[\s\S]*?```/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
}

function isMapping(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A fragment laid over a configuration: its sections' keys replace the base's keys, other values replace whole. */
function overlay(base: Tree, fragment: Tree): Tree {
  const result: Tree = { ...base };
  for (const [key, value] of Object.entries(fragment)) {
    const current = result[key];
    result[key] = isMapping(current) && isMapping(value) ? { ...current, ...value } : value;
  }
  return result;
}

/** The exit code; a child still running after `limitMs` is killed, so a hanging --check fails instead of stalling. */
async function exitCode(proc: GatewayProcess, limitMs = 60_000): Promise<number | null> {
  const guard = setTimeout(() => proc.child.kill('SIGKILL'), limitMs);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(guard);
  }
}

describe('docs/providers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-provider-docs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has a page for every provider issue 16 names, and the index links each page', () => {
    for (const name of EXPECTED) assert.ok(PAGES.includes(name), `docs/providers/${name} exists`);
    const index = readFileSync(join(DIR, 'README.md'), 'utf8');
    const linked = new Set(linkTargets(index));
    for (const name of PAGES) assert.ok(linked.has(name), `docs/providers/README.md links ${name}`);
  });

  it('the real authgate --check agrees, on the Keycloak page\'s minimal configuration', async () => {
    const block = blocksOf(readFileSync(join(DIR, 'keycloak.md'), 'utf8')).find((b) => b.section === 'Minimal configuration' && b.info.length === 1);
    assert.ok(block, 'keycloak.md has a minimal configuration');
    const file = join(dir, 'keycloak-cli.yaml');
    writeFileSync(file, block.text);
    const proc = runCli(['--config', file, '--check'], ENV);
    assert.equal(await exitCode(proc), 0, proc.stderr());
    assert.match(proc.stdout(), /configuration is valid/);
    assert.equal(proc.stderr(), '');
  });

  for (const name of ['README.md', ...PAGES]) {
    it(`every relative link in docs/providers/${name} names a file that exists`, () => {
      for (const target of linkTargets(readFileSync(join(DIR, name), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(DIR, target.split('#')[0]);
        assert.ok(existsSync(path), `${name} links to ${target}, which does not exist`);
        assert.ok(!relative(ROOT, path).startsWith('..'), `${name} links above the repository root: ${target}`);
      }
    });
  }

  for (const name of PAGES) {
    describe(name, () => {
      const page = readFileSync(join(DIR, name), 'utf8');
      const blocks = blocksOf(page);

      it('has the sections every provider page has, in order', () => {
        const found = sectionsOf(page);
        let from = 0;
        for (const section of SECTIONS) {
          const at = found.indexOf(section, from);
          assert.ok(at >= 0, `${name} has "## ${section}" (after the ones before it); it has: ${found.join(' | ')}`);
          from = at + 1;
        }
      });

      const configs = blocks.filter((block) => block.info[0] === 'yaml' && block.info.length === 1);
      const minimal = configs.filter((block) => block.section === 'Minimal configuration');

      it('its minimal configuration is one whole configuration, the first YAML block of its section', () => {
        assert.ok(minimal.length >= 1, `${name} has a YAML block under "## Minimal configuration"`);
        const tree = parse(minimal[0].text) as Tree;
        for (const key of REQUIRED_KEYS) assert.ok(isMapping(tree) && key in tree, `the minimal configuration has ${key}`);
        assert.ok(page.includes('<!-- checked by test/docs/provider-configs.test.ts'), 'the tested block is marked');
      });

      it('every provider-side YAML block parses', () => {
        for (const block of blocks.filter((b) => b.info[0] === 'yaml' && b.info.length > 1)) {
          assert.doesNotThrow(() => parse(block.text), `a ${block.info.join(' ')} block in ${name} is valid YAML`);
        }
      });

      configs.forEach((block, index) => {
        // What --check runs (src/cli.ts): the loader, then the warnings. In process: a child per block took
        // minutes on a busy machine; the real command runs once below, on the first page.
        it(`YAML block ${index + 1} (in "${block.section}") passes authgate --check`, () => {
          const tree = parse(block.text) as unknown;
          assert.ok(isMapping(tree), `block ${index + 1} is a YAML mapping`);
          const whole = REQUIRED_KEYS.every((key) => key in tree);
          const config = whole ? tree : overlay(parse(minimal[0].text) as Tree, tree);
          const file = join(dir, `${name.replace(/\.md$/, '')}-${index + 1}.yaml`);
          writeFileSync(file, stringify(config));
          let loaded;
          try {
            loaded = loadConfigFile(file, { ...process.env, ...ENV });
          } catch (err) {
            assert.fail(`${name} block ${index + 1}${whole ? '' : ' (over the minimal configuration)'}:\n${String(err)}`);
          }
          // A warning (a route open to every signed-in user, a shadowed path) has no place in an example.
          assert.deepEqual(configWarnings(loaded), [], `${name} block ${index + 1} checks without warnings`);
        });
      });
    });
  }
});
