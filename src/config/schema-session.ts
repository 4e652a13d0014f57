/** The `session` section: keys, cookie name, the store and its Redis connection, and session lifetimes. */
import { z } from 'zod';
import { duration, flag, redisUrl, sessionKey } from './schema-types.js';

const redisSchema = z
  .strictObject({
    url: redisUrl.default('redis://127.0.0.1:6379'),
    timeout: duration.prefault('2s'),
    clientCache: flag.default(true),
  })
  .prefault({});

/** The `session` section's shape. */
export const sessionSection = z.strictObject({
  keys: z.array(sessionKey).min(1, { message: 'give at least one session key' }),
  /** Default `__Host-authgate` on https, else `authgate` (chosen in session/cookie-names.ts). */
  cookieName: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'letters, digits, "_" or "-"' }).optional(),
  store: z.enum(['cookie', 'redis']).default('cookie'),
  redis: redisSchema,
  idleTimeout: duration.prefault('1h'),
  absoluteTimeout: duration.prefault('12h'),
  refreshSkew: duration.prefault('60s'),
});
