/**
 * The `tracing` section: off by default, an http(s) URL or "" for the endpoint, a ratio from 0 to 1 (also as
 * the text a `${VAR}` gives), and the traces URL the exporter posts to (a bare origin gets /v1/traces).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tracesUrl } from '../../src/observability/tracing.js';
import { load, minimalTree, problemsOf } from '../config/fixtures.js';

describe('the tracing section', () => {
  it('is off when left out', () => {
    assert.deepEqual(load(minimalTree()).tracing, { otlpEndpoint: '', serviceName: 'authgate', sampleRatio: 1 });
  });

  it('takes the ratio from a ${VAR} as the number it says', () => {
    const tree = { ...minimalTree(), tracing: { otlpEndpoint: 'http://collector:4318', sampleRatio: '${RATIO}' } };
    assert.equal(load(tree, { RATIO: '0.25' }).tracing.sampleRatio, 0.25);
  });

  it('refuses an endpoint that is not an http(s) URL, and a ratio outside 0..1', () => {
    assert.match(problemsOf({ ...minimalTree(), tracing: { otlpEndpoint: 'collector:4318' } }).join('\n'), /tracing\.otlpEndpoint: expected an absolute http\(s\) URL/);
    assert.match(problemsOf({ ...minimalTree(), tracing: { sampleRatio: 1.5 } }).join('\n'), /tracing\.sampleRatio: expected a ratio from 0 to 1/);
    assert.match(problemsOf({ ...minimalTree(), tracing: { sampelRatio: 0.5 } }).join('\n'), /tracing.*sampelRatio/);
  });

  it('posts to /v1/traces when the endpoint has no path, and to the endpoint as given otherwise', () => {
    assert.equal(tracesUrl('http://collector:4318'), 'http://collector:4318/v1/traces');
    assert.equal(tracesUrl('http://collector:4318/'), 'http://collector:4318/v1/traces');
    assert.equal(tracesUrl('https://otlp.example.com/v1/traces'), 'https://otlp.example.com/v1/traces');
    assert.equal(tracesUrl('https://otlp.example.com/otlp/v1/traces'), 'https://otlp.example.com/otlp/v1/traces');
  });
});
