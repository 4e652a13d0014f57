/**
 * The one line per request (reqId, method, path, status, responseTime, upstream, and user and remoteAddr when
 * known). Its fields are fixed and none is a secret (`user` is the sub, or the `oidc.userClaim` the operator
 * chose; never a token), so the line is written as pino would write it, straight to the logger's destination:
 * pino's generic path (key loop, redaction check, stringifiers) was a tenth of a proxied request's CPU time
 * in the profile. Other lines keep going through pino.
 */
import type { FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { InFlightList } from './in-flight.js';
import { isoTimestamp, ownLoggerOutput } from './logger.js';
import type { Metrics } from './metrics.js';
import { userOf } from '../identity.js';

/**
 * Writes the request line; `upstream` is the upstream's name or "gateway"; `user` the signed-in user (userOf)
 * (session or bearer token) and `remoteAddr` the client address (request.ip), each left out when unknown.
 * reqId (hex and base36, or a trusted proxy's X-Request-Id of [A-Za-z0-9._:@/+=-] only: server-options.ts)
 * and upstream (letters, digits, "_", "." or "-": the config schema) are written without escaping; method, path, user and remoteAddr (a trusted proxy's X-Forwarded-For entry is any text) are
 * escaped where they need it.
 */
export type AccessLog = (
  reqId: string,
  method: string,
  path: string,
  status: number,
  responseTimeMs: number,
  upstream: string,
  user: string | undefined,
  remoteAddr: string | undefined,
) => void;

/** Strings a JSON string literal may hold as they are. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const quote = (value: string) => (PLAIN_JSON_STRING.test(value) ? `"${value}"` : JSON.stringify(value));

/**
 * `,"name":"value"` for values that repeat from request to request (a session's sub, a connection's
 * address), kept once made: a Map hit costs a fraction of testing and quoting each value again (cost in
 * BENCHMARKS.md), since the same string instance comes back (a cached session's identity, a socket's
 * address). Bounded, emptied when full.
 */
class FieldCache {
  readonly #fields = new Map<string, string>();
  constructor(private readonly prefix: string) {}

  field(value: string): string {
    let field = this.#fields.get(value);
    if (field === undefined) {
      if (this.#fields.size >= FIELD_CACHE_SIZE) this.#fields.clear();
      field = this.prefix + quote(value);
      this.#fields.set(value, field);
    }
    return field;
  }
}
const FIELD_CACHE_SIZE = 4096;

/**
 * The request-line writer for a logger made by createLogger (the level label, time and bindings are known).
 * Any other logger gets its line through `info()`.
 */
export function createAccessLog(log: Logger): AccessLog {
  const output = ownLoggerOutput(log);
  if (!output) {
    return (reqId, method, path, status, responseTime, upstream, user, remoteAddr) =>
      log.info({ reqId, method, path, status, responseTime: Math.round(responseTime * 100) / 100, upstream, user, remoteAddr }, 'request');
  }
  const { stream, bindings } = output;
  const users = new FieldCache(',"user":');
  const addresses = new FieldCache(',"remoteAddr":');
  return (reqId, method, path, status, responseTime, upstream, user, remoteAddr) => {
    if (!log.isLevelEnabled('info')) return;
    const who = (user === undefined ? '' : users.field(user)) + (remoteAddr === undefined ? '' : addresses.field(remoteAddr));
    stream.write(
      `{"level":"info"${isoTimestamp()}${bindings},"reqId":"${reqId}","method":${quote(method)},"path":${quote(path)},"status":${status},"responseTime":${Math.round(responseTime * 100) / 100},"upstream":"${upstream}"${who},"msg":"request"}\n`,
    );
  };
}

/** Creates the last stage (onResponse): the request leaves the in-flight list, then its metrics and its line. */
export function createAccessLogStage(deps: { log: Logger; metrics: Metrics; inFlight: InFlightList<FastifyRequest> }): onResponseHookHandler {
  const { metrics, inFlight } = deps;
  const accessLog = createAccessLog(deps.log);
  return function logRequest(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const state = request.authgate;
    if (state) inFlight.remove(state.inFlight);
    const upstream = state?.upstream?.name ?? 'gateway';
    const status = reply.statusCode;
    const elapsed = reply.elapsedTime;
    metrics.recordRequest(upstream, status, elapsed / 1000);
    // The guard's principal, else the session a gateway route loaded (/oauth2/userinfo, forward-auth).
    const identity = state?.principal?.identity ?? state?.session?.session.identity;
    const user = identity === undefined ? undefined : userOf(identity);
    // Typed string, but a socket closed before this point has no address left.
    const remoteAddr: string | undefined = request.ip;
    // reqId in the line itself: no per-request child logger on the hot path.
    accessLog(request.id, request.method, state?.path ?? '?', status, elapsed, upstream, user, remoteAddr);
    done();
  };
}
