/**
 * docs/grafana-dashboard.json is built on what the gateway exports: every metric name in any panel's or
 * variable's PromQL exists on /metrics of a real gateway that served a login, a proxied request and an
 * upstream failure; the series those requests make have samples. The file imports as Grafana expects
 * (a Prometheus datasource input every query uses), and an upstream failure logs one warning, not two.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { freePort, ROOT, startStack, type Stack } from '../helpers/gateway.js';

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string | { query: string }; datasource?: { uid?: string } }> };
}

const DASHBOARD = JSON.parse(readFileSync(`${ROOT}docs/grafana-dashboard.json`, 'utf8')) as Dashboard;
const panels = DASHBOARD.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Every PromQL expression of the dashboard: panel targets and query variables. */
function expressions(): string[] {
  const fromPanels = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const fromVariables = DASHBOARD.templating.list.map((v) => (typeof v.query === 'string' ? v.query : v.query.query));
  return [...fromPanels, ...fromVariables].filter((e) => e !== '');
}

/** PromQL words that are neither functions (followed by "(") nor metric names. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers, ranges,
 * grouping label lists and numbers are taken out, minus function names (an identifier before "(") and keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/(?<![A-Za-z0-9_:])\d[0-9A-Za-z_.]*/g, ' '); // numbers and durations (0.99, 1h)
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const after = bare.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Names the exposition declares (`# TYPE name kind`), with their kind. */
function declared(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

/** The names of `used` that the exposition lacks (a histogram's _bucket, _sum and _count are its own). */
function missing(used: readonly string[], types: Map<string, string>): string[] {
  return used.filter((name) => {
    if (types.has(name)) return false;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return types.get(base) !== 'histogram';
  });
}

describe('the Grafana dashboard', () => {
  let stack: Stack;
  let metrics: string;
  let failedReqId: unknown;
  before(async () => {
    const closedPort = await freePort(); // nothing listens there: the upstream fails with 502
    stack = await startStack({ configure: (tree) => tree.upstreams.unshift({ name: 'down', path: '/down', url: `http://127.0.0.1:${closedPort}` }) });
    const alice = await stack.signIn('alice'); // a login: callback, code grant, userinfo
    assert.equal((await alice.fetch(`${stack.publicUrl}/hello`, { headers: { accept: 'application/json' } })).status, 200);
    assert.equal((await alice.fetch(`${stack.publicUrl}/down/x`, { headers: { accept: 'application/json' } })).status, 502);
    assert.equal((await fetch(`${stack.publicUrl}/oauth2/callback?code=x&state=unknown`)).status, 400); // a failed login
    metrics = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    failedReqId = stack.gateway.logEntries().find((e) => e.msg === 'request' && e.path === '/down/x')?.reqId;
  });
  after(() => stack.close());

  it('finds the metric names of PromQL expressions (and would report an unknown one)', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.99, sum by (upstream, le) (rate(authgate_http_request_duration_seconds_bucket{instance=~"$instance", x="a{b}"}[$__rate_interval])))'),
      ['authgate_http_request_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNames('sum(rate(a_total[5m])) / on (job) group_left (version) b_info > bool 0 or time() - c_seconds offset 1h'), ['a_total', 'b_info', 'c_seconds']);
    assert.deepEqual(metricNames('label_values(authgate_build_info, instance)'), ['authgate_build_info', 'instance']);
    const types = declared(metrics);
    assert.deepEqual(missing(['authgate_no_such_total', 'authgate_logins_total', 'authgate_logins_total_bucket'], types), ['authgate_no_such_total', 'authgate_logins_total_bucket']);
  });

  it('names only metrics that exist on /metrics', () => {
    const types = declared(metrics);
    // label_values(metric, label): the second argument is a label, not a metric.
    const used = new Set(expressions().flatMap((e) => metricNames(e.replace(/^label_values\((.*),\s*\w+\)$/, '$1'))));
    assert.ok(used.size >= 15, `the dashboard uses ${used.size} metrics`);
    assert.deepEqual(missing([...used], types), [], 'metric names in the dashboard that /metrics does not declare');
  });

  it('has samples for what the requests above made', () => {
    for (const series of [
      /^authgate_build_info\{version="[^"]+",node="v[^"]+"\} 1$/m,
      /^authgate_http_requests_total\{upstream="app",status="200"\} [1-9]/m,
      /^authgate_http_requests_total\{upstream="down",status="502"\} 1$/m,
      /^authgate_http_request_duration_seconds_bucket\{le="\+Inf",upstream="down"\} 1$/m,
      /^authgate_logins_total\{outcome="success",provider="default"\} 1$/m,
      /^authgate_logins_total\{outcome="invalid_state",provider="unknown"\} 1$/m,
      /^authgate_provider_requests_total\{operation="code_grant",outcome="success",provider="default"\} 1$/m,
      /^process_cpu_seconds_total [0-9.e+-]+$/m,
      /^nodejs_eventloop_lag_p99_seconds [0-9.e+-]+$/m,
    ]) {
      assert.match(metrics, series);
    }
  });

  it('imports with a Prometheus datasource input that every query uses', () => {
    assert.deepEqual(
      DASHBOARD.__inputs.map((i) => [i.name, i.type, i.pluginId]),
      [['DS_PROMETHEUS', 'datasource', 'prometheus']],
    );
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
      for (const target of panel.targets ?? []) assert.equal(target.datasource?.uid, '${DS_PROMETHEUS}', panel.title);
    }
    for (const variable of DASHBOARD.templating.list) assert.equal(variable.datasource?.uid, '${DS_PROMETHEUS}', variable.name);
  });

  it('an upstream failure logs one warning, not two', () => {
    assert.ok(failedReqId, 'the failed request has its line');
    const warnings = stack.gateway.logEntries().filter((e) => e.reqId === failedReqId && e.level === 'warn');
    assert.deepEqual(warnings.map((w) => w.msg), ['upstream unavailable']);
  });
});
