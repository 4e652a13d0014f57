/**
 * The one wrapper around a call to the provider: it times the call, counts its outcome, and turns whatever
 * failed (openid-client's errors, the fetch's, the gateway's own checks) into one coded error, a
 * ProviderError. Every step of the provider client fails that way; callers branch on `reason`, and since a
 * ProviderError is a GatewayError, an HTTP layer can answer it as it is.
 */
import * as client from 'openid-client';
import { ErrorCode, GatewayError, type ErrorCodeValue } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';

/**
 * Why a provider call failed, as a caller acts on it. unavailable: not reached, timed out, or failing (5xx):
 * try again later. invalid_grant: the provider refused the grant. rejected: another OAuth error from the
 * provider (often about this client rather than the grant). invalid_response: an answer that fails validation.
 */
export type ProviderFailure = 'unavailable' | 'invalid_grant' | 'rejected' | 'invalid_response';

/** The provider calls the gateway makes, as they are labelled in the metrics. */
export type ProviderOperation = 'discovery' | 'code_grant' | 'refresh' | 'userinfo' | 'introspection' | 'resource_token' | 'token_exchange' | 'par' | 'revocation';

/** What a failure looks like to whoever sees it: the GatewayError parts. */
export interface ErrorFace {
  code: ErrorCodeValue;
  status: number;
  message: string;
}

/** What the provider said when it failed, for the face of an operation. */
export interface FailureDetails {
  reason: ProviderFailure;
  /** The OAuth `error` the provider answered with, if any. */
  oauthError?: string | undefined;
  /** The HTTP status of the provider's answer, when there was one. */
  providerStatus?: number | undefined;
  cause: unknown;
}

/** A failed call to the provider (or a provider answer that failed the gateway's checks). */
export class ProviderError extends GatewayError {
  readonly reason: ProviderFailure;
  readonly oauthError: string | undefined;
  readonly providerStatus: number | undefined;

  constructor(details: FailureDetails, face: ErrorFace = defaultFace(details)) {
    super(face.code, face.status, face.message, { cause: details.cause });
    this.name = 'ProviderError';
    this.reason = details.reason;
    this.oauthError = details.oauthError;
    this.providerStatus = details.providerStatus;
  }
}

/** The face of an unreachable or failing provider. */
export const UNAVAILABLE: ErrorFace = {
  code: ErrorCode.providerUnavailable,
  status: 503,
  message: 'The sign-in service is not reachable right now. Please try again.',
};
/** The face of a provider answer that fails validation. */
export const UNVERIFIABLE: ErrorFace = {
  code: ErrorCode.loginFailed,
  status: 400,
  message: 'The sign-in response could not be verified. Please sign in again.',
};

function defaultFace(details: FailureDetails): ErrorFace {
  return details.reason === 'unavailable' ? UNAVAILABLE : UNVERIFIABLE;
}

/** A failure of the network or the clock rather than of the provider's answer (what fetch throws). */
export function isUnreachable(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return err instanceof TypeError || name === 'TimeoutError' || name === 'AbortError';
}

/**
 * Sorts what a provider call threw. A refusal or an answer that fails validation is the provider's word; a
 * provider that cannot answer (network, timeout, 5xx, even an HTML error page of a proxy in front of it) is
 * an outage. Anything unforeseen counts as an outage too, so a session is never ended on a guess.
 */
export function classify(err: unknown): FailureDetails {
  if (err instanceof ProviderError) return { reason: err.reason, oauthError: err.oauthError, providerStatus: err.providerStatus, cause: err.cause };
  if (err instanceof client.AuthorizationResponseError) return { reason: 'rejected', oauthError: err.error, cause: err };
  if (err instanceof client.ResponseBodyError) {
    // use_dpop_nonce after openid-client's one retry: the provider's nonces, not the grant: try later.
    const reason = err.error === 'invalid_grant' ? 'invalid_grant' : err.status >= 500 || err.error === 'use_dpop_nonce' ? 'unavailable' : 'rejected';
    return { reason, oauthError: err.error, providerStatus: err.status, cause: err };
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with WWW-Authenticate (the answer to Basic client credentials it refuses): an OAuth error too.
    const oauthError = err.cause[0]?.parameters.error;
    return { reason: err.status >= 500 ? 'unavailable' : oauthError === 'invalid_grant' ? 'invalid_grant' : 'rejected', oauthError, providerStatus: err.status, cause: err };
  }
  if (isUnreachable(err)) return { reason: 'unavailable', cause: err };
  const answer = (err as { cause?: unknown }).cause;
  if (answer instanceof Response && answer.status >= 500) return { reason: 'unavailable', providerStatus: answer.status, cause: err };
  if (err instanceof client.ClientError || (err as { code?: unknown }).code !== undefined) return { reason: 'invalid_response', cause: err };
  return { reason: 'unavailable', cause: err };
}

/** Refreshes are counted by their outcome in token_refreshes_total instead (docs/metrics.md). */
const COUNTED: ReadonlySet<ProviderOperation> = new Set(['discovery', 'code_grant', 'userinfo', 'introspection', 'resource_token', 'token_exchange', 'par', 'revocation']);

/** Runs one call to the provider: timed, counted, and failing only with a ProviderError. */
export type ProviderCall = <T>(operation: ProviderOperation, call: () => Promise<T>, face?: (details: FailureDetails) => ErrorFace) => Promise<T>;

/** The wrapper for one provider's calls, recording into the metrics with its id (and spans, when tracing is on). */
export function createProviderCall(metrics: Metrics, provider: string, tracing?: Tracing): ProviderCall {
  const run: ProviderCall = async (operation, call, face) => {
    const done = metrics.providerDuration.startTimer({ operation, provider });
    try {
      const result = await call();
      done();
      if (COUNTED.has(operation)) metrics.providerRequests.inc({ operation, outcome: 'success', provider });
      return result;
    } catch (err) {
      done();
      if (COUNTED.has(operation)) metrics.providerRequests.inc({ operation, outcome: 'error', provider });
      const details = classify(err);
      throw new ProviderError(details, face?.(details));
    }
  };
  if (!tracing) return run;
  // The operation's span; the HTTP calls it makes (provider-fetch.ts) are its children.
  return (operation, call, face) => tracing.inSpan(`oidc ${operation}`, { 'authgate.provider.operation': operation, 'authgate.provider.id': provider }, () => run(operation, call, face));
}
