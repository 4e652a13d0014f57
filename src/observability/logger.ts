/**
 * The gateway's logger: pino JSON on stdout, one object a line. Redaction is the safety net under the
 * rule that secrets are never passed to the logger in the first place.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors. Exact paths only: wildcards ("*.token") made redaction the largest single cost of a
 * request in the profile. The gateway logs objects of its own making (top-level keys it chooses, `err`
 * through serializeError), so secrets could only appear at the top level or in headers someone logged.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'query.code',
  'err.clientSecret',
  'err.accessToken',
  'err.refreshToken',
  ...['clientSecret', 'client_secret', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'idToken', 'id_token',
    'code_verifier', 'password', 'logout_token', 'keys', 'cookie', 'authorization', 'token', 'session'],
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

type LogMethod = (...args: unknown[]) => void;

/**
 * A request's logger that creates its pino child only when first used. fastify makes a child logger for
 * every request; the gateway's hot path writes its one request line through the root logger instead, so
 * most requests never need one (it showed in the profile).
 */
export class LazyChildLogger {
  #real: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly ownBindings: Record<string, unknown>,
  ) {}

  private get real(): Logger {
    return (this.#real ??= this.parent.child(this.ownBindings));
  }
  get level(): string {
    return this.parent.level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  trace: LogMethod = (...args) => {
    Reflect.apply(this.real.trace, this.real, args);
  };
  debug: LogMethod = (...args) => {
    Reflect.apply(this.real.debug, this.real, args);
  };
  info: LogMethod = (...args) => {
    Reflect.apply(this.real.info, this.real, args);
  };
  warn: LogMethod = (...args) => {
    Reflect.apply(this.real.warn, this.real, args);
  };
  error: LogMethod = (...args) => {
    Reflect.apply(this.real.error, this.real, args);
  };
  fatal: LogMethod = (...args) => {
    Reflect.apply(this.real.fatal, this.real, args);
  };
  silent: LogMethod = () => undefined;
  child = (bindings: Record<string, unknown>, options?: object): Logger => this.real.child(bindings, options);
  isLevelEnabled = (level: string): boolean => this.parent.isLevelEnabled(level);
  bindings = (): Record<string, unknown> => ({ ...this.parent.bindings(), ...this.ownBindings });
}
