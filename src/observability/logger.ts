/**
 * The gateway's logger: pino JSON on stdout, one object a line. Redaction is the safety net under the
 * rule that secrets are never passed to the logger in the first place.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { LOG_LEVELS } from '../config/schema-server.js';

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

/** A level pino knows: `server.logLevel`'s values. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level to log at: LOG_LEVEL when set and not empty (so one run can be made verbose without editing the
 * file, and the variable keeps working as before `server.logLevel` existed), else `server.logLevel`.
 * Throws naming the variable when LOG_LEVEL is not a level.
 */
export function effectiveLogLevel(configured: LogLevel = 'info', env: string | undefined = process.env.LOG_LEVEL): LogLevel {
  if (env === undefined || env === '') return configured;
  const level = LOG_LEVELS.find((known) => known === env.trim().toLowerCase());
  if (!level) throw new Error(`LOG_LEVEL="${env}" is not a level: use one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

/** Creates the root logger; tests pass their own destination to capture every line. */
export function createLogger(destination?: DestinationStream, level: string = effectiveLogLevel(), withPid = false): Logger {
  const base = process.env.AUTHGATE_WORKER || withPid ? { pid: process.pid } : undefined;
  const stream = destination ?? stdoutDestination();
  const logger = pino(
    {
      level,
      // With worker processes every line says which process wrote it.
      base,
      timestamp: isoTimestamp,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
  ownLoggers.set(logger, { stream, bindings: base ? `,"pid":${base.pid}` : '' });
  return logger;
}

/** Where a logger of createLogger's writes, and its bindings as pino serialises them. */
export interface LoggerOutput {
  stream: DestinationStream;
  bindings: string;
}
const ownLoggers = new WeakMap<Logger, LoggerOutput>();
/** The output of a logger made by createLogger (whose line format is known), else undefined. */
export function ownLoggerOutput(log: Logger): LoggerOutput | undefined {
  return ownLoggers.get(log);
}

/**
 * Log lines gathered before one write to stdout, and the longest a line waits for its write. A batch is
 * under 2 KB plus one line, so under PIPE_BUF (4 KB): workers sharing one stdout pipe never interleave
 * inside each other's lines.
 */
const STDOUT_BUFFER_BYTES = 2048;
const STDOUT_FLUSH_MS = 100;
let stdout: StdoutBatch | undefined;

/**
 * stdout for every logger of the process: synchronous writes (as a Linux pipe is for Node anyway) of
 * batches of lines, flushed every 100 ms and when the process exits. An asynchronous stream went through
 * libuv's thread pool for every few lines: the largest single cost of a proxied request in the profile.
 */
function stdoutDestination(): DestinationStream {
  if (!stdout) {
    const batch = new StdoutBatch(pino.destination({ fd: 1, sync: true, minLength: 0 }));
    setInterval(() => batch.flush(), STDOUT_FLUSH_MS).unref();
    process.on('exit', () => batch.flushSync());
    stdout = batch;
  }
  return stdout;
}

/**
 * Gathers lines and hands them to sonic-boom a batch at a time: sonic-boom's own buffering measures the
 * bytes of everything it holds on every write (cost in BENCHMARKS.md); here a line costs an append, and a
 * batch is measured once.
 * Its length is counted in characters: a batch of lines with non-ASCII text may pass PIPE_BUF in bytes.
 */
class StdoutBatch implements DestinationStream {
  #pending = '';
  readonly #sink: ReturnType<typeof pino.destination>;

  constructor(sink: ReturnType<typeof pino.destination>) {
    this.#sink = sink;
  }

  write(line: string): void {
    this.#pending += line;
    if (this.#pending.length >= STDOUT_BUFFER_BYTES) this.flush();
  }

  /** Writes what is gathered (nothing when nothing is: an idle gateway makes no system calls for its log). */
  flush(callback?: (err?: Error) => void): void {
    if (this.#pending !== '') {
      const batch = this.#pending;
      this.#pending = '';
      this.#sink.write(batch);
    }
    if (callback) this.#sink.flush(callback);
  }

  flushSync(): void {
    this.flush();
    this.#sink.flushSync();
  }
}

let timestampMs = 0;
let timestamp = '';
let secondStart = Number.NaN;
let secondPrefix = '';
const MILLIS = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, '0')}Z"`);
/**
 * pino's ISO time (`,"time":"2026-12-02T06:55:49.123Z"`) for the time `now`. Date#toISOString is a visible
 * share of a request's cost (BENCHMARKS.md): it runs once a second, for the part up to the seconds, and the
 * milliseconds come from a table.
 */
export function isoTimeAt(now: number): string {
  if (now !== timestampMs) {
    const ms = now % 1000;
    if (now - ms !== secondStart) {
      secondStart = now - ms;
      secondPrefix = `,"time":"${new Date(secondStart).toISOString().slice(0, 20)}`;
    }
    timestampMs = now;
    timestamp = secondPrefix + MILLIS[ms];
  }
  return timestamp;
}

/** isoTimeAt(Date.now()): the timestamp function of every logger here. */
export function isoTimestamp(): string {
  return isoTimeAt(Date.now());
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

/**
 * A request's logger that creates its pino child only when first used. fastify makes a child logger for
 * every request; the gateway's hot path writes its one request line through the root logger instead, so
 * most requests never need one (it showed in the profile).
 */
export class LazyChildLogger {
  #real: Logger | undefined;
  readonly #parent: Logger;
  readonly #bindings: Record<string, unknown>;
  // Methods on the prototype, not arrow-function fields: fields cost ten closures for every request.
  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get #logger(): Logger {
    return (this.#real ??= this.#parent.child(this.#bindings));
  }
  get level(): string {
    return this.#parent.level;
  }
  set level(level: string) {
    this.#logger.level = level;
  }
  trace(...args: unknown[]): void {
    Reflect.apply(this.#logger.trace, this.#logger, args);
  }
  debug(...args: unknown[]): void {
    Reflect.apply(this.#logger.debug, this.#logger, args);
  }
  info(...args: unknown[]): void {
    Reflect.apply(this.#logger.info, this.#logger, args);
  }
  warn(...args: unknown[]): void {
    Reflect.apply(this.#logger.warn, this.#logger, args);
  }
  error(...args: unknown[]): void {
    Reflect.apply(this.#logger.error, this.#logger, args);
  }
  fatal(...args: unknown[]): void {
    Reflect.apply(this.#logger.fatal, this.#logger, args);
  }
  silent(): void {}
  child(bindings: Record<string, unknown>, options?: object): Logger {
    return this.#logger.child(bindings, options);
  }
  isLevelEnabled(level: string): boolean {
    return this.#parent.isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return { ...this.#parent.bindings(), ...this.#bindings };
  }
}
