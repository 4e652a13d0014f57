/**
 * The provider fetch's buffered Response reads like any Response: a real Response (instanceof, status,
 * headers), its body read once (text, json, arrayBuffer, blob or the body stream), clone before reading,
 * a byte order mark dropped as Response#text() drops it, invalid JSON rejected, and no body for a 204.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bufferedResponse } from '../../src/oidc/buffered-response.js';

const json = (text: string, status = 200) => bufferedResponse(Buffer.from(text), { status, headers: { 'content-type': 'application/json' } });

describe('buffered provider response', () => {
  it('is a Response with the status and headers it was given', () => {
    const response = json('{}', 400);
    assert.ok(response instanceof Response);
    assert.equal(response.status, 400);
    assert.equal(response.ok, false);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.equal(Object.prototype.toString.call(response), '[object Response]');
  });

  it('reads its body once, as every Response does', async () => {
    const response = json('{"a":1}');
    assert.equal(response.bodyUsed, false);
    assert.deepEqual(await response.json(), { a: 1 });
    assert.equal(response.bodyUsed, true);
    await assert.rejects(response.text(), TypeError);
    assert.throws(() => response.clone(), TypeError);
  });

  it('clones before reading, each copy read on its own', async () => {
    const response = json('{"error":"invalid_grant"}', 400);
    const copy = response.clone();
    assert.deepEqual(await copy.json(), { error: 'invalid_grant' });
    assert.equal(copy.status, 400);
    assert.equal(await response.text(), '{"error":"invalid_grant"}');
  });

  it('decodes as Response#text() does, byte order mark dropped', async () => {
    const bytes = Buffer.from('\ufeff{"name":"Zoë"}');
    assert.equal(await bufferedResponse(bytes, { status: 200 }).text(), await new Response(bytes).text());
    assert.deepEqual(await bufferedResponse(bytes, { status: 200 }).json(), { name: 'Zoë' });
  });

  it('rejects a body that is not JSON', async () => {
    await assert.rejects(json('<html>').json(), SyntaxError);
  });

  it('offers its bytes as arrayBuffer, blob and body stream', async () => {
    assert.equal(Buffer.from(await json('abc').arrayBuffer()).toString(), 'abc');
    const blob = await json('abc').blob();
    assert.equal(blob.type, 'application/json');
    assert.equal(await blob.text(), 'abc');
    const streamed = json('abc');
    assert.equal(await new Response(streamed.body).text(), 'abc');
    assert.equal(streamed.bodyUsed, true);
  });

  it('has no body for a 204', async () => {
    const response = bufferedResponse(null, { status: 204 });
    assert.equal(response.body, null);
    assert.equal(await response.text(), '');
  });
});
