/**
 * docs/migrate-from-oauth2-proxy.md cannot fall behind the converter: its option table has a row for every
 * oauth2-proxy option the converter knows, with the right flag, and no row for an option it does not know.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OPTIONS } from '../../src/migrate/options.js';
import { ROOT } from '../helpers/gateway.js';
import { FIXTURES, migrate } from './migrate-cli.js';

const DOC = readFileSync(join(ROOT, 'docs/migrate-from-oauth2-proxy.md'), 'utf8');
/** `| \`key\` | \`--flag\` |` rows of the option table. */
const ROWS = new Map([...DOC.matchAll(/^\| `([a-z0-9_]+)` \| `--([a-z0-9-]+)` \|/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));

describe('the oauth2-proxy migration guide', () => {
  it('reads the table (the pattern itself works)', () => {
    assert.equal(ROWS.get('upstreams'), 'upstream');
    assert.ok(ROWS.size >= 100, `only ${ROWS.size} rows`);
  });

  it('has a row, with its flag, for every option the converter knows', () => {
    const missing = [...OPTIONS.values()].filter((o) => ROWS.get(o.key) !== o.flag).map((o) => `${o.key} (--${o.flag})`);
    assert.deepEqual(missing, []);
  });

  it('has no row for an option the converter does not know', () => {
    assert.deepEqual([...ROWS.keys()].filter((key) => !OPTIONS.has(key)), []);
  });

  it('shows the example exactly as the command prints it today', async () => {
    const section = DOC.slice(DOC.indexOf('## An example'), DOC.indexOf('## Behaviour that differs'));
    const blocks = [...section.matchAll(/```(toml|yaml|text)\n([\s\S]*?)```/g)].map((m) => m[2] ?? '');
    assert.equal(blocks.length, 3);
    assert.equal(blocks[0], readFileSync(join(ROOT, FIXTURES, 'keycloak-sentinel.cfg'), 'utf8'));
    const run = await migrate(['--config', `${FIXTURES}/keycloak-sentinel.cfg`]);
    assert.equal(run.code, 0);
    assert.equal(blocks[1], run.stdout.replace(`${FIXTURES}/keycloak-sentinel.cfg`, '/etc/oauth2-proxy.cfg'));
    assert.equal(blocks[2], run.stderr);
  });

  it('shows how to run the command and the behaviour differences', () => {
    for (const text of ['authgate migrate oauth2-proxy --config', 'authgate --config authgate.yaml --check', 'X-Forwarded-Access-Token', 'X-Auth-Request-User', 'signs in once more', 'email_domains = ["*"]']) {
      assert.ok(DOC.includes(text), `the guide does not say "${text}"`);
    }
  });
});
