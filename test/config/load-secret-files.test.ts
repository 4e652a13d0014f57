/**
 * `xxxFile` secrets (clientSecretFile, keysFile) are read from files; giving both forms, or a file that cannot
 * be read, is reported with the file key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KEY, load, minimalTree, problemsOf } from './fixtures.js';

describe('xxxFile secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const OTHER_KEY = Buffer.alloc(32, 0x11).toString('hex');

  it('reads clientSecretFile into clientSecret, trimmed', () => {
    const tree = minimalTree();
    delete tree.oidc.clientSecret;
    tree.oidc.clientSecretFile = file('client-secret', '  s3cr3t-from-file\n');
    assert.equal(load(tree).oidc.clientSecret, 's3cr3t-from-file');
  });

  it('reads keysFile as one key a line, skipping blank lines and # comments', () => {
    const tree = minimalTree();
    delete tree.session.keys;
    tree.session.keysFile = file('session-keys', `# current\n${KEY}\n\n# previous\r\n${OTHER_KEY}\n`);
    assert.deepEqual(load(tree).session.keys, [KEY, OTHER_KEY]);
  });

  it('resolves ${VAR} inside the file path', () => {
    file('from-env-dir', 'env-dir-secret');
    const tree = minimalTree();
    delete tree.oidc.clientSecret;
    tree.oidc.clientSecretFile = '${CREDENTIALS_DIRECTORY}/from-env-dir';
    assert.equal(load(tree, { CREDENTIALS_DIRECTORY: dir }).oidc.clientSecret, 'env-dir-secret');
  });

  it('refuses both clientSecret and clientSecretFile', () => {
    const tree = minimalTree();
    tree.oidc.clientSecretFile = file('unused', 'x');
    assert.deepEqual(problemsOf(tree), ['oidc.clientSecretFile: give either clientSecret or clientSecretFile, not both']);
  });

  it('refuses both keys and keysFile', () => {
    const tree = minimalTree();
    tree.session.keysFile = file('keys-unused', KEY);
    assert.deepEqual(problemsOf(tree), ['session.keysFile: give either keys or keysFile, not both']);
  });

  it('reports a file that cannot be read with the file key, and nothing else about that value', () => {
    const tree = minimalTree();
    delete tree.oidc.clientSecret;
    const missing = join(dir, 'no-such-file');
    tree.oidc.clientSecretFile = missing;
    assert.deepEqual(problemsOf(tree), [`oidc.clientSecretFile: cannot read "${missing}": no such file`]);
  });

  it('names the file key when a value read from it is wrong', () => {
    const tree = minimalTree();
    delete tree.session.keys;
    tree.session.keysFile = file('bad-keys', `${KEY}\ntoo-short\n`);
    const problems = problemsOf(tree);
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', /^session\.keysFile \(session\.keys\[1\]\): a session key must decode to at least 32 bytes/);
  });
});
