/**
 * What a valid configuration becomes: secure defaults for everything left out, durations in milliseconds,
 * `${VAR}` and `${VAR:-default}` from the environment, `xxxFile` secrets read from files, and a frozen result.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KEY, load, minimalTree, problemsOf } from './fixtures.js';

describe('configuration defaults', () => {
  it('fills every option left out with its documented default', () => {
    const tree = minimalTree();
    tree.upstreams.push({ name: 'forward-auth-only', host: 'App.Example.COM' });
    assert.deepEqual(load(tree), {
      server: {
        listen: { host: '0.0.0.0', port: 4180 },
        publicUrl: 'https://app.example.com',
        trustedProxies: [],
        metricsListen: '',
        shutdownGrace: 30_000,
        shutdownDelay: 5_000,
        headersTimeout: 10_000,
        requestTimeout: 300_000,
        workers: 1,
      },
      oidc: {
        issuer: 'https://idp.example.com',
        clientId: 'gateway',
        clientSecret: 'secret',
        clientAuthMethod: 'client_secret_basic',
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        groupsClaim: 'groups',
        trustUnverifiedEmail: false,
        clockSkew: 60_000,
        maxIdTokenAge: 600_000,
        metadataRefresh: 86_400_000,
        allowInsecureHttp: false,
      },
      session: {
        keys: [KEY],
        store: 'cookie',
        redis: { url: 'redis://127.0.0.1:6379', timeout: 2_000, clientCache: true },
        idleTimeout: 3_600_000,
        absoluteTimeout: 43_200_000,
        refreshSkew: 60_000,
      },
      api: { acceptBearerTokens: false, audiences: ['gateway'], introspectOpaqueTokens: false },
      upstreams: [
        {
          name: 'app',
          path: '/',
          url: 'http://127.0.0.1:3000',
          auth: 'required',
          forwardAccessToken: true,
          authRequestAccessToken: false,
          stripPrefix: false,
          preserveHost: false,
          timeout: 30_000,
          websocket: true,
          allowedOrigins: [],
          allow: { emails: [], emailDomains: [], groups: [], claims: {} },
        },
        {
          name: 'forward-auth-only',
          path: '/',
          host: 'app.example.com',
          auth: 'required',
          forwardAccessToken: true,
          authRequestAccessToken: false,
          stripPrefix: false,
          preserveHost: false,
          timeout: 30_000,
          websocket: true,
          allowedOrigins: [],
          allow: { emails: [], emailDomains: [], groups: [], claims: {} },
        },
      ],
    });
  });

  it('leaves session.cookieName unset so the gateway picks __Host-authgate or authgate from publicUrl', () => {
    assert.equal(load(minimalTree()).session.cookieName, undefined);
  });

  it('keeps api.audiences when given, instead of the client id', () => {
    const tree = minimalTree();
    tree.api = { audiences: ['https://api.example.com'] };
    assert.deepEqual(load(tree).api.audiences, ['https://api.example.com']);
  });

  it('parses listen addresses, IPv6 included', () => {
    const tree = minimalTree();
    tree.server.listen = '[::1]:8080';
    tree.server.metricsListen = '127.0.0.1:9090';
    const { server } = load(tree);
    assert.deepEqual(server.listen, { host: '::1', port: 8080 });
    assert.deepEqual(server.metricsListen, { host: '127.0.0.1', port: 9090 });
  });

  it('normalises publicUrl and allowedOrigins to origins without a trailing slash', () => {
    const tree = minimalTree();
    tree.server.publicUrl = 'https://App.Example.com:443/';
    tree.upstreams[0].allowedOrigins = ['https://admin.example.com/', 'http://localhost:5173'];
    const config = load(tree);
    assert.equal(config.server.publicUrl, 'https://app.example.com');
    assert.deepEqual(config.upstreams[0]?.allowedOrigins, ['https://admin.example.com', 'http://localhost:5173']);
  });
});

describe('durations', () => {
  const cases: [input: string | number, ms: number][] = [
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['1d', 86_400_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    [90, 90_000],
    [0.25, 250],
    [0, 0],
    ['45', 45_000],
  ];
  for (const [input, ms] of cases) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      const tree = minimalTree();
      tree.upstreams[0].timeout = input;
      assert.equal(load(tree).upstreams[0]?.timeout, ms);
    });
  }

  for (const input of ['10 minutes', '5 s', '1w', -5, true, '']) {
    it(`refuses ${JSON.stringify(input)} with a hint`, () => {
      const tree = minimalTree();
      tree.session.refreshSkew = input;
      const problems = problemsOf(tree);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', /^session\.refreshSkew: .*(duration such as "90s"|must not be negative)/);
    });
  }
});

describe('${VAR} references', () => {
  it('replaces ${VAR} from the environment, also inside a longer string', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    tree.server.publicUrl = 'https://${PUBLIC_HOST}';
    tree.session.keys = ['${SESSION_KEY}'];
    const config = load(tree, { OIDC_CLIENT_SECRET: 'from-env', PUBLIC_HOST: 'gw.example.org', SESSION_KEY: KEY });
    assert.equal(config.oidc.clientSecret, 'from-env');
    assert.equal(config.server.publicUrl, 'https://gw.example.org');
    assert.deepEqual(config.session.keys, [KEY]);
  });

  it('uses the default of ${VAR:-default} when VAR is unset or empty, and VAR when it is set', () => {
    const tree = minimalTree();
    tree.session.store = 'redis';
    tree.session.redis = { url: '${REDIS_URL:-redis://cache:6379}' };
    tree.oidc.groupsClaim = '${GROUPS_CLAIM:-roles}';
    tree.oidc.clientId = '${CLIENT_ID:-fallback-id}';
    const config = load(tree, { GROUPS_CLAIM: '', CLIENT_ID: 'set-id' });
    assert.equal(config.session.redis.url, 'redis://cache:6379');
    assert.equal(config.oidc.groupsClaim, 'roles');
    assert.equal(config.oidc.clientId, 'set-id');
  });

  it('reports an unset variable once, with the path of the value that uses it', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    tree.session.keys = [KEY, '${OLD_SESSION_KEY}'];
    const problems = problemsOf(tree, { UNRELATED: 'x' });
    assert.deepEqual(problems, [
      'oidc.clientSecret: environment variable OIDC_CLIENT_SECRET is not set (or write ${OIDC_CLIENT_SECRET:-default})',
      'session.keys[1]: environment variable OLD_SESSION_KEY is not set (or write ${OLD_SESSION_KEY:-default})',
    ]);
  });

  it('reports a variable set to the empty string as empty', () => {
    const tree = minimalTree();
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    assert.deepEqual(problemsOf(tree, { OIDC_CLIENT_SECRET: '' }), [
      'oidc.clientSecret: environment variable OIDC_CLIENT_SECRET is empty (or write ${OIDC_CLIENT_SECRET:-default})',
    ]);
  });

  it('lets booleans, numbers and durations come from the environment as text', () => {
    const tree = minimalTree();
    tree.oidc.allowInsecureHttp = '${INSECURE:-false}';
    tree.server.workers = '${WORKERS}';
    tree.upstreams[0].websocket = '${WEBSOCKETS}';
    tree.upstreams[0].timeout = '${UPSTREAM_TIMEOUT}';
    const config = load(tree, { WORKERS: '4', WEBSOCKETS: 'true', UPSTREAM_TIMEOUT: '120' });
    assert.equal(config.oidc.allowInsecureHttp, false);
    assert.equal(config.server.workers, 4);
    assert.equal(config.upstreams[0]?.websocket, true);
    assert.equal(config.upstreams[0]?.timeout, 120_000);
  });
});

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

describe('the loaded configuration', () => {
  it('is frozen all the way down', () => {
    const config = load(minimalTree());
    const upstream = config.upstreams[0];
    assert.ok(upstream);
    for (const part of [config, config.server, config.server.listen, config.oidc.scopes, config.session.keys, config.upstreams, upstream, upstream.allow, upstream.allow.groups]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      config.oidc.clientSecret = 'changed';
    }, TypeError);
    assert.throws(() => upstream.allow.groups.push('admins'), TypeError);
    assert.equal(config.oidc.clientSecret, 'secret');
  });
});
