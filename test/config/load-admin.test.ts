/**
 * The `admin` section: off by default; with a listen address it needs tokens of at least 16 characters
 * (from `${VAR}` or tokensFile, one a line), and its address must differ from the other listeners. Each
 * problem is named at its YAML path and never shows a token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { load, minimalTree, problemsOf } from './fixtures.js';

const TOKEN = 'a-long-enough-admin-token-0123456789';

describe('the admin section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-admin-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is off by default', () => {
    assert.deepEqual(load(minimalTree()).admin, { listen: '', tokens: [] });
  });

  it('takes a listen address and tokens from the environment', () => {
    const tree = { ...minimalTree(), admin: { listen: '127.0.0.1:9091', tokens: ['${ADMIN_TOKEN}'] } };
    assert.deepEqual(load(tree, { ADMIN_TOKEN: TOKEN }).admin, { listen: { host: '127.0.0.1', port: 9091 }, tokens: [TOKEN] });
  });

  it('reads tokensFile as one token a line', () => {
    const file = join(dir, 'tokens');
    writeFileSync(file, `# ops\n${TOKEN}\n\n${TOKEN}-2\n`);
    const tree = { ...minimalTree(), admin: { listen: '127.0.0.1:9091', tokensFile: file } };
    assert.deepEqual(load(tree).admin.tokens, [TOKEN, `${TOKEN}-2`]);
  });

  it('refuses a listen address without tokens', () => {
    assert.deepEqual(problemsOf({ ...minimalTree(), admin: { listen: '127.0.0.1:9091' } }), [
      'admin.tokens: give at least one token (or tokensFile) when admin.listen is set',
    ]);
  });

  it('refuses a short token at its path, without showing it', () => {
    const problems = problemsOf({ ...minimalTree(), admin: { listen: '127.0.0.1:9091', tokens: [TOKEN, 'short-secret'] } });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^admin\.tokens\[1\]: an admin token must have at least 16 characters; generate one with `openssl rand -base64 32`$/);
  });

  it('refuses a token no Authorization header could carry (spaces, tabs, non-ASCII), without showing it', () => {
    for (const bad of ['two words in a token here', 'tab\tseparated-admin-token', 'ünïcödé-admin-token-0001', ' leading-space-admin-token']) {
      const problems = problemsOf({ ...minimalTree(), admin: { listen: '127.0.0.1:9091', tokens: [TOKEN, bad] } });
      assert.deepEqual(problems, [
        'admin.tokens[1]: an admin token is printable ASCII without spaces (it is sent as "Authorization: Bearer TOKEN"); generate one with `openssl rand -base64 32`',
      ]);
    }
  });

  it('refuses an unset token variable without suggesting a default', () => {
    assert.deepEqual(problemsOf({ ...minimalTree(), admin: { listen: '127.0.0.1:9091', tokens: ['${ADMIN_TOKEN}'] } }), [
      'admin.tokens[0]: environment variable ADMIN_TOKEN is not set',
    ]);
  });

  it('refuses a bad address, and one that is server.listen or metricsListen', () => {
    assert.match(problemsOf({ ...minimalTree(), admin: { listen: 'localhost', tokens: [TOKEN] } })[0] ?? '', /^admin\.listen: expected "host:port"/);
    const main = minimalTree();
    main.server.listen = '0.0.0.0:4180';
    assert.deepEqual(problemsOf({ ...main, admin: { listen: '127.0.0.1:4180', tokens: [TOKEN] } }), ['admin.listen: must differ from server.listen and server.metricsListen']);
    const metrics = minimalTree();
    metrics.server.metricsListen = '127.0.0.1:9090';
    assert.deepEqual(problemsOf({ ...metrics, admin: { listen: '127.0.0.1:9090', tokens: [TOKEN] } }), ['admin.listen: must differ from server.listen and server.metricsListen']);
  });
});
