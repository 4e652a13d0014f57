/**
 * Answers requests that fail before fastify sees them (headers too large, a client too slow, a malformed
 * request line) with the right status and a short JSON body, and writes the one log line such a request
 * would otherwise lack.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { ErrorCode } from '../errors.js';

/** Creates fastify's clientErrorHandler. */
export function createClientErrorHandler(log: Logger) {
  return function handleClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, text, code] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', ErrorCode.badRequest]
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', ErrorCode.headersTooLarge]
          : [400, 'Bad Request', ErrorCode.badRequest];
    log.info({ status, reason: err.code ?? 'unknown', remoteAddress: socket.remoteAddress }, 'request refused before routing');
    const body = JSON.stringify({ error: code, message: text });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}
