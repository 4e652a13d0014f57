/**
 * The gateway's logger: pino JSON on stdout, one object a line. Redaction is the safety net under the
 * rule that secrets are never passed to the logger in the first place.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'query.code',
  '*.query.code',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  ...[
    'clientSecret', 'client_secret', 'accessToken', 'access_token', 'refreshToken', 'refresh_token',
    'idToken', 'id_token', 'code_verifier', 'password', 'logout_token', 'keys', 'cookie', 'authorization',
  ].flatMap((key) => [key, `*.${key}`]),
];

/** Creates the root logger; tests pass their own destination to capture every line. */
export function createLogger(destination?: DestinationStream, level = process.env.LOG_LEVEL ?? 'info', withPid = false): Logger {
  return pino(
    {
      level,
      // With worker processes every line says which process wrote it.
      base: process.env.AUTHGATE_WORKER || withPid ? { pid: process.pid } : undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** Logs an error by type, code and message only: a cause's response body or request never reaches the log. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out.code = code;
  const cause = err.cause;
  if (cause instanceof Error) out.cause = serializeError(cause);
  return out;
}
