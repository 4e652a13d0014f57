/**
 * The gateway's answers for unknown addresses and for errors thrown anywhere on the road: a GatewayError
 * as it says, fastify's 4xx (a body too large, a bad content type) as a 400-class page, anything else as 500.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError } from './replies.js';

const NOT_FOUND = new GatewayError(ErrorCode.notFound, 404, 'No application is configured for this address.');
const INTERNAL = new GatewayError(ErrorCode.internal, 500, 'Something went wrong in the gateway.');

/** Sets the not-found and error handlers; call before any route scope (a scope keeps the handler it saw). */
export function registerErrorPages(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => sendGatewayError(request, reply, NOT_FOUND));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof GatewayError) {
      if (error.status >= 500) request.log.warn({ err: error }, error.safeMessage);
      return sendGatewayError(request, reply, error);
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return sendGatewayError(request, reply, new GatewayError(ErrorCode.badRequest, status, 'The request could not be processed.'));
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendGatewayError(request, reply, INTERNAL);
  });
}
