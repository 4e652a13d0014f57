/**
 * Errors the gateway answers with on purpose. Each carries a stable code (AUTHGATE_ERR_*), the HTTP status,
 * and a message that is safe to show a user; the cause is only logged.
 */

/** Stable error codes, as they appear in logs and JSON answers. */
export const ErrorCode = {
  providerUnavailable: 'AUTHGATE_ERR_PROVIDER_UNAVAILABLE',
  loginExpired: 'AUTHGATE_ERR_LOGIN_EXPIRED',
  loginFailed: 'AUTHGATE_ERR_LOGIN_FAILED',
  providerError: 'AUTHGATE_ERR_PROVIDER_ERROR',
  badRequest: 'AUTHGATE_ERR_BAD_REQUEST',
  forbidden: 'AUTHGATE_ERR_FORBIDDEN',
  badPath: 'AUTHGATE_ERR_BAD_PATH',
  notFound: 'AUTHGATE_ERR_NOT_FOUND',
  upstreamUnavailable: 'AUTHGATE_ERR_UPSTREAM_UNAVAILABLE',
  upstreamTimeout: 'AUTHGATE_ERR_UPSTREAM_TIMEOUT',
  sessionStoreUnavailable: 'AUTHGATE_ERR_SESSION_STORE_UNAVAILABLE',
  headersTooLarge: 'AUTHGATE_ERR_HEADERS_TOO_LARGE',
  sessionTooLarge: 'AUTHGATE_ERR_SESSION_TOO_LARGE',
  internal: 'AUTHGATE_ERR_INTERNAL',
  stepUpRequired: 'AUTHGATE_ERR_STEP_UP_REQUIRED',
  stepUpOtherUser: 'AUTHGATE_ERR_STEP_UP_OTHER_USER',
} as const;

/** One of the values of ErrorCode. */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error with a status and a user-safe message; `cause` goes to the log, never to the client. */
export class GatewayError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    readonly status: number,
    readonly safeMessage: string,
    options?: { cause?: unknown },
  ) {
    super(safeMessage, options);
    this.name = 'GatewayError';
  }
}
