/** The `server` section: the listener, the public address, proxies trusted, timeouts, workers and the log level. */
import { z } from 'zod';
import { cidr, duration, listen, origin } from './schema-types.js';

const workers = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.union([z.number().int().min(1).max(256), z.literal('auto')], { error: 'expected a number of processes from 1 to 256, or "auto"' }),
);

/** pino's levels, for `server.logLevel` (and the LOG_LEVEL environment variable, which wins when set). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The `server` section's shape (its cross-field checks live in schema-checks.ts). */
export const serverSection = z.strictObject({
  listen: listen.prefault('0.0.0.0:4180'),
  publicUrl: origin,
  trustedProxies: z.array(cidr).default([]),
  metricsListen: z.union([z.literal(''), listen], { error: 'expected "host:port", e.g. "0.0.0.0:9090", or "" (serve /metrics on listen)' }).default(''),
  shutdownGrace: duration.prefault('30s'),
  /** Default: 5 s, or half of shutdownGrace when that is shorter (set in configSchema). */
  shutdownDelay: duration.optional(),
  headersTimeout: duration.prefault('10s'),
  requestTimeout: duration.prefault('5m'),
  workers: workers.default(1),
  logLevel: z.enum(LOG_LEVELS).default('info'),
});
