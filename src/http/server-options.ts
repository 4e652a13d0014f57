/**
 * The fastify instance's own settings: logging, request ids, which peers' X-Forwarded-* to believe, limits
 * and timeouts for slow clients, and the answer to requests Node refuses before fastify sees them.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyHttpOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { LazyChildLogger } from '../observability/logger.js';
import { createClientErrorHandler } from './client-errors.js';
import type { TrustedProxyMatcher } from './trusted-proxies.js';

/**
 * Request ids: a random prefix per gateway process and a counter. Unique across processes and restarts
 * like a UUID, for a fraction of randomUUID's cost per request.
 */
const REQUEST_ID_PREFIX = `${randomBytes(6).toString('hex')}-`;
let requestCounter = 0;
const nextRequestId = () => REQUEST_ID_PREFIX + (++requestCounter).toString(36);

/**
 * An inbound X-Request-Id worth keeping: one a trusted proxy set, of characters that need no escaping in a
 * log line or a header (the access log writes the id as it is), at most 128 of them.
 */
const KEPT_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The request id: a trusted proxy's X-Request-Id when it sent a well-formed one (one id across the proxy's
 * logs, the gateway's and the app's), else a new one. Without trusted proxies no header is read.
 */
function requestIds(server: Config['server'], isTrustedProxy: TrustedProxyMatcher): (request: IncomingMessage) => string {
  if (server.trustedProxies.length === 0) return nextRequestId;
  return (request) => {
    const inbound = request.headers['x-request-id'];
    return typeof inbound === 'string' && KEPT_REQUEST_ID.test(inbound) && isTrustedProxy(request.socket.remoteAddress) ? inbound : nextRequestId();
  };
}

/** The options for Fastify(); the caller adds rewriteUrl (the route step). */
export function serverOptions(server: Config['server'], log: Logger, isTrustedProxy: TrustedProxyMatcher): FastifyHttpOptions<Server, FastifyBaseLogger> {
  return {
    // Typed as FastifyBaseLogger (the return type): a Logger-typed instance would be refused by fastify's plugin types.
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: (logger, bindings) => new LazyChildLogger(logger as unknown as Logger, bindings),
    // None trusted: fastify's plain getters give the matcher's answers without parsing X-Forwarded-For.
    trustProxy: server.trustedProxies.length > 0 ? isTrustedProxy : false,
    requestIdHeader: false,
    genReqId: requestIds(server, isTrustedProxy),
    // Slow clients (slowloris): headers must arrive within headersTimeout, the whole request within
    // requestTimeout (408 after either); Node checks every second instead of its default 30.
    http: { maxHeaderSize: 16 * 1024, headersTimeout: server.headersTimeout, connectionsCheckingInterval: 1000 },
    requestTimeout: server.requestTimeout,
    clientErrorHandler: createClientErrorHandler(log),
  };
}
