/** BENCHMARKS.md from a run's report: the machine, the method, the tables, the targets, how to reproduce. */
import { COLD_LOGINS } from './login-cost.js';
import { allNotes, f, int, markdownTable, pct, plural, ratios, scalingLine, soakLine, tables, times, type RunReport } from './report.js';
import type { BenchSettings } from './settings.js';
import type { SoakResult } from './soak.js';
import { OIDC_MODULE, SYSTEM_IDS, SYSTEM_LABELS } from './system-ids.js';
import { imageNodeFlags } from './systems/authgate.js';

function soakSection(soak: SoakResult | undefined): string {
  if (!soak) return 'Not run this time (it takes a few minutes): `BENCH_SOAK=1 npm run bench`.';
  // About twelve points are enough to see a trend without drowning the page.
  const step = Math.max(1, Math.ceil(soak.samples.length / 12));
  const points = soak.samples.filter((_, i) => i % step === 0 || i === soak.samples.length - 1);
  return [
    soakLine(soak).replace(/^Soak \(authgate, cookie store\): /, ''),
    '',
    markdownTable(['seconds', 'requests', 'RSS MB'], points.map((p) => [f(p.seconds, 0), int(p.requests), f(p.rssMb, 1)])),
  ].join('\n');
}

function scalingSection(report: RunReport): string {
  const { settings: s, scaling } = report;
  if (!s.scaling) return 'Not run this time (BENCH_SCALING=0).';
  if (!scaling) return 'Not run this time: it loads authgate-cookie, which BENCH_SYSTEMS left out.';
  const t = tables(report);
  return `authgate with the cookie store, each time on a fresh stack (upstream, provider, gateway): once with
\`server.workers: 1\`, once with \`server.workers: auto\`, which forks a worker per core: ${plural(scaling.cores, 'core')} here
(os.availableParallelism()). Nothing is pinned, so either may use every core. Each is loaded like the full-load
pass (${s.connections} connections, ${plural(s.rounds, 'round')} of ${s.warmup} s warm-up and ${s.seconds} s measured, medians over the rounds).
"cores used" counts the gateway processes that served the load; CPU % and max RSS cover the primary and all its workers.

${markdownTable(t.scaling.head, t.scaling.rows)}

${scalingLine(scaling)}

The load generator, the upstream and the provider share the same cores as the workers (this machine has ${scaling.cores}), so a ${scaling.cores}-core machine cannot show the gateway's own scaling cleanly: every cycle they take is one the workers do not get.`;
}

/** How the C peers were set up, when the run had any. */
function peersSection(report: RunReport): string {
  const ids = report.full.map((m) => m.id);
  if (!ids.some((id) => id === 'nginx-bare' || id === 'apache-bare' || OIDC_MODULE.has(id))) return '';
  return `
nginx and Apache httpd are Debian's packages, started from configs the benchmark writes into a temporary
directory (bench/systems/nginx.ts, bench/systems/apache.ts) and pinned like every other system: the whole process
tree (nginx's master and its \`worker_processes 1\`; httpd's parent and its one mpm_event child, \`ServerLimit 1\`
with 64 threads) on the same core, so each gets one core as a single Node process does. Both keep a client
connection for any number of requests (as Node does) and reuse their upstream connections. Neither writes an
access log; errors go at level \`warn\` to a file (httpd) or stderr (nginx). mod_auth_openidc signs in for real
against the same provider (code flow with PKCE S256, authgate's default scopes, \`/oauth2/callback\`), with
\`OIDCSessionType server-cache\` and its shm cache (apache-oidc-server) or \`client-cookie\` (apache-oidc-cookie), and
its defaults otherwise (it passes the claims and the access token upstream as headers). Their CPU and RSS are summed
over the parent and its child, like a Node primary and its workers; pages the two share are counted twice, which
overstates their memory by a little.
`;
}

/** The environment that repeats a run's settings. */
function reproduceEnv(s: BenchSettings): string {
  const parts = [`BENCH_ROUNDS=${s.rounds}`, `BENCH_SECONDS=${s.seconds}`, `BENCH_WARMUP=${s.warmup}`, ...(s.fresh ? [] : ['BENCH_FRESH=0']), `BENCH_CONNECTIONS=${s.connections}`, `BENCH_LOGINS=${s.logins}`];
  if (!s.halfLoad) parts.push('BENCH_HALF_LOAD=0');
  if (s.soak) parts.push('BENCH_SOAK=1', `BENCH_SOAK_REQUESTS=${s.soakRequests}`);
  if (s.systems.length) parts.push(`BENCH_SYSTEMS=${s.systems.join(',')}`);
  if (!s.pin) parts.push('BENCH_PIN=0');
  if (s.logLevel !== 'info') parts.push(`BENCH_LOG_LEVEL=${s.logLevel}`);
  if (s.workers !== 1) parts.push(`BENCH_WORKERS=${s.workers}`);
  if (!s.scaling) parts.push('BENCH_SCALING=0');
  if (s.load) parts.push(`BENCH_LOAD=${s.load}`);
  return `${parts.join(' ')} \\\n  `;
}

const isWrk = (label: string) => label.startsWith('wrk ');

/** Which generator loaded each pass, with its version and how it was run. */
function loadLine(report: RunReport): string {
  const { loaders, settings: s } = report;
  const full = isWrk(loaders.full)
    ? `${loaders.full} (\`wrk -t1 -c${s.connections}\`: one C thread${report.pinned ? ', on CPU 0 with the helpers' : ''}; bench/wrk-report.lua sends the cookie, counts every answer that is not 2xx and prints wrk's latency percentiles)`
    : `${loaders.full} (programmatic API, on the benchmark's own event loop${report.pinned ? ' on CPU 0' : ''}: it can be the limit itself, \`apt-get install wrk\` to measure with wrk)`;
  const soak = report.soak ? ` The soak: ${loaders.soak} (a fixed number of requests, counted as they are answered).` : '';
  return `Load: \`GET /\` with the session cookie, ${s.connections} connections. Full load${s.scaling ? ' and worker scaling' : ''}: ${full}.${soak}`;
}

/** Where the full-load latencies come from, for the Method section. */
function latencySource(report: RunReport): string {
  return isWrk(report.loaders.full)
    ? "from wrk's per-request latency histogram (microsecond resolution, every answer)"
    : "computed from every 2xx response's own latency (autocannon's histogram keeps whole milliseconds only)";
}

/** BENCHMARKS.md. */
export function markdownReport(report: RunReport): string {
  const { machine: m, settings: s } = report;
  const r = ratios(report);
  const t = tables(report);
  const systems = report.full.map((x) => `- **${x.id}**: ${SYSTEM_LABELS[x.id]}`).join('\n');
  const versions = Object.entries(m.versions).map(([name, version]) => `${name} ${version}`).join(', ');
  const env = reproduceEnv(s);
  return `# Benchmarks

Generated by \`npm run bench\` (bench/run.ts) on ${m.date}; every number below comes from that run.
Do not edit by hand: run the benchmark again.

## Machine

- CPU: ${m.cpuModel}, ${m.cores} cores; ${m.memoryGb} GB RAM; ${m.kernel}
- Node ${m.node}; authgate at commit ${m.commit}
- Load average when the run started: ${m.loadAverage}
- ${versions}

## Method

Each server runs in its own process: a minimal node:http upstream answering 200 "ok" with keep-alive, the
identity provider (oidc-provider 9, the one the tests use), ${report.full.some((x) => x.id === 'authgate-redis') ? 'redis-server (no persistence), ' : ''}and the systems under test:

${systems}
${peersSection(report)}
${report.pinned ? 'The systems under test are pinned to CPU 1 with taskset (only one of them is under load at a time); the load generator, upstream, provider and Redis share CPU 0. The numbers are therefore single-core figures for each system.' : 'Nothing was pinned to a CPU (one core, or BENCH_PIN=0): the load generator, the upstream and the system under test share the machine.'}
authgate is the built gateway, started as the Docker image starts it (\`node ${imageNodeFlags().join(' ')} dist/cli.js --config …\`), with its defaults (log level \`${s.logLevel}\`: one JSON access-log line per request, written to /dev/null); the bare proxy, the express stack and the upstream are bench/systems/*.ts transpiled to plain JavaScript and run on plain \`node\` too.
Before loading, the benchmark signs in once through every authenticating system with a real login (the
provider's login and consent forms, the code grant) and keeps that system's session cookie; it checks that
\`GET /\` with the cookie is 200 "ok" and without it is not 200. The load generator sends one fixed Cookie header and
ignores Set-Cookie, so before each run the benchmark does what a browser does between requests: one \`GET /\`
with the cookie, taking any new value the system sets (authgate re-seals a cookie session once its idle clock
has moved on, at most once a minute; express-openid-connect re-sets its cookie on every response).

${loadLine(report)}
${plural(s.rounds, 'round')}; in each round every system is loaded once, the first system rotating from round to round,
with ${s.warmup} s of unmeasured warm-up and then ${s.seconds} s measured. ${s.fresh ? `Every run is on a fresh process of its system (restarted and
signed in anew before the warm-up): on this virtual machine a process keeps the speed it started with (the same
process measured within a few percent round after round, while two processes of the same build differed by up to a
third), so medians over fresh processes are not one process's luck.` : 'Each system keeps one process for every run (BENCH_FRESH=0).'} Requests/s is the median over rounds of the
2xx responses per second; p50/p99 are the medians over rounds of each run's percentiles, ${latencySource(report)}. RSS is the largest VmRSS
(/proc/PID/status, the process and its children) sampled every 200 ms while the system is under load.
"CPU %" is the system's CPU time over the run (100% = its core fully used: below that, something else was the
limit) and "CPU µs/req" that time per 2xx response (the median over rounds); "others CPU %" is the CPU time outside the benchmark's own processes meanwhile (/proc/stat's busy
time, the hypervisor's steal time and the kernel's interrupt work included, minus the benchmark's processes),
the largest over the rounds: anything but ~0 means the machine was not quiet.
The ratios ("vs bare proxy", authgate / express-openid-connect, authgate / mod_auth_openidc) are the median over rounds of each
round's own ratio: the two runs of a round are seconds apart, so the machine's drift between minutes cancels.
${report.half.length ? `\nHalf load: the same rounds at a fixed rate (${report.loaders.half}, \`overallRate\`: wrk has no fixed rate) of half the bare proxy's median full-load rate; "p99 added" is the median over rounds of a system's p99 minus the bare proxy's p99 in the same round, at that same rate.` : ''}

## Full load

${markdownTable(t.full.head, t.full.rows)}
${report.half.length ? `\n## Half load\n\n${markdownTable(t.half.head, t.half.rows)}\n` : ''}
## Ratios and targets

- authgate / bare proxy: cookie ${pct(r.cookieVsBare)}, Redis ${pct(r.redisVsBare)}
- authgate / express-openid-connect: cookie ${times(r.cookieVsExpress)}, Redis ${times(r.redisVsExpress)}
- authgate / mod_auth_openidc with server-side sessions, req/s: cookie ${times(r.cookieVsModule)}, Redis ${times(r.redisVsModule)}; p99 at full load: cookie ${times(r.p99CookieVsModule)}, Redis ${times(r.p99RedisVsModule)}
- authgate's p99 at full load / the bare proxy's: cookie ${times(r.p99CookieVsBare)}, Redis ${times(r.p99RedisVsBare)}

${markdownTable(t.targets.head, t.targets.rows)}

† judged when both the system and the bare proxy delivered the half-load rate; a system that could not is "NOT met", a bare proxy that could not (a disturbed run) leaves it "not measured".

## Logins

${report.logins.length ? `${markdownTable(t.logins.head, t.logins.rows)}

Each login is a fresh browser (no provider session): \`GET /\` → redirect to the provider → its login and consent
forms → the gateway's callback (code grant, ID token checks, new session) → the first proxied page. Gateway CPU
is utime + stime from /proc/PID/stat (for mod_auth_openidc, of the httpd parent and its child) across ${s.logins} logins (${s.loginConcurrency} at a time) after ${s.loginWarmUp.toLocaleString('en')} unmeasured ones: a login
runs each function of its path only a few times, so V8 optimises that path over thousands of logins. The first
${COLD_LOGINS} logins the gateway serves (one at a time, right after the load passes) are measured apart: what a
gateway that signs in few users pays per login. The provider's CPU is counted apart, in its own process. Logins/s is bounded by the provider and the client
driving the logins, which share the other core. The provider's code is the same in every run, so "gateway / provider
CPU" compares runs made on hosts of different speed (a shared VM can run at half its usual speed for hours).` : 'Not run this time (BENCH_LOGINS=0).'}

## Soak

${soakSection(report.soak)}

## Worker scaling

${scalingSection(report)}
${allNotes(report).length ? `\n## Notes\n\n${allNotes(report).map((n) => `- ${n}`).join('\n')}\n` : ''}
## Reproduce

\`\`\`sh
npm ci
apt-get install redis-server nginx apache2 libapache2-mod-auth-openidc   # optional: each system without its package is skipped
apt-get install wrk              # the full-load generator; without it autocannon runs those passes (BENCH_LOAD)
npm run bench                    # the defaults: 3 rounds × 5 s, worker scaling, no soak; about 8 min
${env}npm run bench   # exactly this run; it took ${Math.ceil(report.elapsed / 60)} min
npm run bench:profile            # authgate and the bare proxy under --cpu-prof: what authgate adds per request
npm run bench:tail               # about 6 min: p99/p99.9, event-loop delay, GC pauses, the slowest 1% by stage (## Tail)
npm run bench:memory             # about 3 min: RSS and its parts, V8 heap by space, modules, heap snapshots (## Memory)
npm run bench:check              # about 3 min: fails when authgate's req/s ratio to the bare proxy fell
npm run bench:check -- --update  # rewrites bench/baseline.json from the run (commit it)
\`\`\`

\`npm run bench:check\` is the regression guard for every change to the request path: the bare proxy and authgate
(cookie store; Redis too when redis-server is installed), 5 interleaved rounds × (3 s warm-up + 3 s), a fresh
process per run, no BENCHMARKS.md. Each authgate/bare req/s ratio is the median of the rounds' own ratios;
it fails (exit 1) when it is below bench/baseline.json's by more than the noise: 2 × 1.4826 × the median absolute
deviation of the per-round ratios (two robust standard deviations of one round; the difference of two 5-round
medians varies by about 0.8 of that), the larger of this run's and the baseline run's, since three of five rounds
that happen to agree give a tiny MAD. On a shared or virtual machine fresh processes differ in speed, so the noise
is wide there; run it on a quiet machine to catch small regressions. It loads with the full-load pass's generator
(BENCH_LOAD) and refuses a baseline recorded with the other one: the ratios differ between them. BENCH_CHECK_BASELINE names
another baseline file; BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP and BENCH_BUILD=0 apply as above.

\`npm run bench:profile\` takes BENCH_PROFILE_STORE (cookie or redis), BENCH_PROFILE_SECONDS (10),
BENCH_PROFILE_TOP (15), BENCH_PROFILE_DIR (where the .cpuprofiles are kept) and BENCH_PROFILE_LOGINS=N
(profile N full logins instead of the load).

Settings (environment): BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_FRESH=0, BENCH_CONNECTIONS, BENCH_HALF_LOAD=0,
BENCH_LOGINS, BENCH_LOGIN_WARMUP, BENCH_LOGIN_CONCURRENCY, BENCH_SOAK=1, BENCH_SOAK_REQUESTS, BENCH_SYSTEMS (comma list of
${SYSTEM_IDS.join(', ')}; default all that are installed), BENCH_PIN=0, BENCH_BUILD=0 (use the existing dist/),
BENCH_LOG_LEVEL, BENCH_KEEP_LOGS=1, BENCH_WORKERS, BENCH_SCALING=0, BENCH_LOAD (wrk or autocannon for the full-load
and scaling passes and bench:check; default wrk when installed), BENCH_OUT (\`-\` writes no file).
`;
}
