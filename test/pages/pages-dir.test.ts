/**
 * pages.dir: each of sign_in.html, error.html and signed_out.html replaces its built-in page, a missing
 * file keeps the built-in one, and a template that does not compile stops the start (in-process and as the
 * real command, --check included) with an error naming pages.dir and the file. A logo that is not an
 * http(s) URL or a same-origin path is refused by the configuration.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { parseConfigText } from '../../src/config/load.js';
import { loadPages } from '../../src/pages/load-pages.js';
import { renderSignIn } from '../../src/pages/render.js';
import { baseConfig, freePort, runCli, startGateway, startStack, writeConfigFile, type Stack } from '../helpers/gateway.js';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-pages-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('pages.dir replaces the built-in pages', () => {
  let stack: Stack;
  let dir: string;
  before(async () => {
    // error.html and signed_out.html replaced; sign_in.html missing: the built-in picker stays.
    dir = folder({
      'error.html': '<!doctype html><title>Oops</title><h1 class="custom-error">Custom {{status}}: {{heading}}</h1>',
      'signed_out.html': '<!doctype html><title>Bye</title><h1 class="custom-signed-out">Bye from {{title}}</h1>',
    });
    stack = await startStack({ configure: (tree) => (tree.pages = { dir, title: 'Acme' }) });
  });
  after(() => stack.close());

  it('error.html replaces every error page', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/nothing`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 404);
    assert.equal(await response.text(), '<!doctype html><title>Oops</title><h1 class="custom-error">Custom 404: Not found</h1>');
  });

  it('signed_out.html replaces the signed-out page', async () => {
    const html = await (await fetch(`${stack.publicUrl}/oauth2/signed_out`)).text();
    assert.equal(html, '<!doctype html><title>Bye</title><h1 class="custom-signed-out">Bye from Acme</h1>');
  });

  it('sign_in.html replaces the sign-in page; a missing one keeps the built-in page', () => {
    const view = { providers: [{ id: 'corp', name: 'Corp', href: '/oauth2/start?provider=corp' }], target: '/', requestId: 'r' };
    assert.match(renderSignIn(stack.gateway.gateway.services.pages, view), /<h1>Sign in<\/h1>/);
    assert.equal(stack.gateway.gateway.services.pages.sources.sign_in, 'built-in');
    const replaced = loadPages({ dir: folder({ 'sign_in.html': '{{#each providers}}[{{name}}]{{/each}}' }), title: 't', logo: '', footer: '' }, stack.publicUrl);
    assert.equal(renderSignIn(replaced, view), '[Corp]');
  });

  it('JSON answers are not templated', async () => {
    const response = await fetch(`${stack.publicUrl}/oauth2/nothing`, { headers: { accept: 'application/json' } });
    assert.deepEqual(await response.json(), { error: 'AUTHGATE_ERR_NOT_FOUND', message: 'No application is configured for this address.' });
  });
});

describe('a template that does not compile', () => {
  const broken = () => folder({ 'signed_out.html': '<h1>{{#if title}}unclosed</h1>' });
  const unknownHelper = () => folder({ 'error.html': '<h1>{{lookupSecret status}}</h1>' });
  const tree = (dir: string, port: number) => ({
    ...baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: 'http://127.0.0.1:9', upstreamUrl: 'http://127.0.0.1:9', listenPort: port }),
    pages: { dir },
  });

  it('stops an in-process start, naming pages.dir and the file', async () => {
    const port = await freePort();
    const dir = broken();
    await assert.rejects(startGateway(tree(dir, port), { port, waitForProvider: false }), (err: Error) => {
      assert.match(err.message, /^pages\.dir: /);
      assert.ok(err.message.includes(join(dir, 'signed_out.html')), err.message);
      return true;
    });
  });

  it('refuses a helper that is not built in (templates cannot call code)', async () => {
    const port = await freePort();
    const dir = unknownHelper();
    await assert.rejects(startGateway(tree(dir, port), { port, waitForProvider: false }), (err: Error) => err.message.includes(join(dir, 'error.html')));
  });

  it('makes the command and --check exit 1 naming pages.dir and the file', async () => {
    const port = await freePort();
    const dir = broken();
    const file = writeConfigFile(tree(dir, port));
    for (const args of [['--config', file, '--check'], ['--config', file]]) {
      const proc = runCli(args);
      assert.equal(await proc.exited, 1, args.join(' '));
      assert.match(proc.stderr(), /invalid configuration pages\.dir: /);
      assert.ok(proc.stderr().includes(join(dir, 'signed_out.html')), proc.stderr());
    }
  });
});

describe('pages.logo', () => {
  const parse = (logo: string) => {
    const config = baseConfig({ publicUrl: 'https://app.example.com', issuer: 'https://idp.example.com', upstreamUrl: 'http://127.0.0.1:9', listenPort: 4180 });
    return () => parseConfigText(stringify({ ...config, pages: { logo } }), 'test config', {});
  };

  it('refuses javascript:, data: and protocol-relative URLs', () => {
    for (const logo of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:image/svg+xml,<svg onload=alert(1)>', '//evil.example/logo.png', 'logo.png']) {
      assert.throws(parse(logo), /pages\.logo: expected "" \(no logo\), an absolute http\(s\) URL or a path/, logo);
    }
  });

  it('accepts an http(s) URL or a same-origin path', () => {
    for (const logo of ['https://cdn.example.com/logo.svg', '/static/logo.svg', '']) assert.equal(parse(logo)().pages.logo, logo);
  });
});
