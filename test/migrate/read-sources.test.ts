/**
 * oauth2-proxy's three sources merge as oauth2-proxy merges them (flags over OAUTH2_PROXY_* over the TOML
 * file), each value typed by its option: lists from repeated flags or commas, Go durations, Go booleans.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseGoDuration, readProxyOptions } from '../../src/migrate/read-sources.js';

function tomlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oauth2-proxy-')), 'oauth2-proxy.cfg');
  writeFileSync(file, text);
  return file;
}

describe('reading an oauth2-proxy configuration', () => {
  const file = tomlFile('client_id = "from-file"\nemail_domains = ["file.example"]\ncookie_expire = "12h"\nscope = "openid"\n');

  it('flags win over variables, which win over the file', () => {
    const env = { OAUTH2_PROXY_CLIENT_ID: 'from-env', OAUTH2_PROXY_SCOPE: 'openid email' };
    const all = readProxyOptions({ configFile: file, env, flags: ['--client-id=from-flag'] });
    assert.equal(all.values.get('client_id'), 'from-flag');
    assert.equal(all.sources.get('client_id'), 'flag');
    assert.equal(all.values.get('scope'), 'openid email');
    assert.equal(all.sources.get('scope'), 'env');
    assert.deepEqual(all.values.get('email_domains'), ['file.example']);
    const noFlag = readProxyOptions({ configFile: file, env, flags: [] });
    assert.equal(noFlag.values.get('client_id'), 'from-env');
  });

  it('types values: repeated and comma lists, durations, booleans, "--flag value"', () => {
    const env = { OAUTH2_PROXY_EMAIL_DOMAINS: 'a.example, b.example', OAUTH2_PROXY_COOKIE_SECURE: 'false' };
    const flags = ['--upstream=http://a:1/', '--upstream', 'http://b:2/api/', '--cookie-refresh=1h30m', '--skip-auth-preflight', '--pass-host-header=false'];
    const all = readProxyOptions({ env, flags });
    assert.deepEqual(all.values.get('email_domains'), ['a.example', 'b.example']);
    assert.equal(all.values.get('cookie_secure'), false);
    assert.deepEqual(all.values.get('upstreams'), ['http://a:1/', 'http://b:2/api/']);
    assert.equal(all.values.get('cookie_refresh'), 90 * 60_000);
    assert.equal(all.values.get('skip_auth_preflight'), true);
    assert.equal(all.values.get('pass_host_header'), false);
    assert.deepEqual(all.problems, []);
  });

  it('takes --config from the flags, as oauth2-proxy does', () => {
    const all = readProxyOptions({ env: {}, flags: [`--config=${file}`] });
    assert.equal(all.configFile, file);
    assert.equal(all.values.get('cookie_expire'), 12 * 3_600_000);
  });

  it('names unknown options and unreadable values', () => {
    const bad = tomlFile('emial_domains = ["x"]\ncookie_expire = "a week"\n');
    const all = readProxyOptions({ configFile: bad, env: { OAUTH2_PROXY_COOKIE_SECURE: 'maybe' }, flags: ['--upstreem=http://x/'] });
    assert.deepEqual(all.unknown.sort(), ['--upstreem', 'emial_domains']);
    assert.deepEqual(all.problems, ['cookie_expire: expected a duration such as "168h" or "1h30m"', 'OAUTH2_PROXY_COOKIE_SECURE: expected true or false']);
  });

  it('parses Go durations', () => {
    assert.equal(parseGoDuration('168h'), 168 * 3_600_000);
    assert.equal(parseGoDuration('1h0m0s'), 3_600_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('12'), undefined);
    assert.equal(parseGoDuration('1d'), undefined);
  });
});
