/**
 * An https upstream's certificate is verified: one the gateway cannot trust (self-signed here, as a
 * machine in the middle would present) gets a 502 and no request, where @fastify/reply-from used to turn
 * verification off. The failure is logged once, without the session's tokens.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserClient } from '../helpers/browser-client.js';
import { startStack, type Stack } from '../helpers/gateway.js';

/** A self-signed certificate for 127.0.0.1, made with the openssl command. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('https upstreams', () => {
  let stack: Stack;
  let alice: BrowserClient;
  let impostor: Server;
  const received: string[] = [];

  before(async () => {
    impostor = createServer(selfSignedCertificate(), (req, res) => {
      received.push(`${req.method ?? ''} ${req.url ?? ''} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('tokens received');
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as AddressInfo).port;
    stack = await startStack({
      configure: (c) => {
        c.upstreams.push({ name: 'impostor', path: '/secure', url: `https://127.0.0.1:${port}` });
      },
    });
    alice = await stack.signIn('alice');
  });
  after(async () => {
    await stack.close();
    impostor.close();
  });

  it('refuses an upstream whose certificate it cannot verify: 502, and the request (with its bearer token) never sent', async () => {
    const response = await alice.fetch(`${stack.publicUrl}/secure/account`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 502);
    assert.equal(((await response.json()) as { error: string }).error, 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE');
    assert.deepEqual(received, [], 'the impostor saw no request and no token');
  });

  it('logs the failure once, naming the upstream, with no token in the log', async () => {
    const entries = stack.gateway.logEntries().filter((e) => e.upstream === 'impostor' && e.level === 'warn');
    assert.equal(entries.length, 1, JSON.stringify(entries));
    assert.equal(entries[0]?.msg, 'upstream unavailable');
    assert.match(JSON.stringify(entries[0]), /self-signed|certificate/i, 'the log says why');
    const session = stack.gateway.logs.join('\n');
    assert.doesNotMatch(session, /Bearer [A-Za-z0-9._-]{20,}/, 'no bearer token logged');
  });
});
