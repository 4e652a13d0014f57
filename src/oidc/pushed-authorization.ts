/**
 * Pushed authorization requests (RFC 9126, `oidc.pushedAuthorizationRequests`): `auto` POSTs the request to
 * the provider's PAR endpoint when its metadata names one, `required` refuses a login when it does not,
 * `off` never pushes. The browser then carries only client_id and request_uri. A mismatch between the mode
 * and the provider is logged once per provider when discovery sees it, not once per login.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { ErrorCode } from '../errors.js';
import type { Discovered } from './discovery.js';
import { dpopOptions } from './dpop-handle.js';
import { ProviderError, type ErrorFace, type FailureDetails, type ProviderCall } from './provider-call.js';

/** `oidc.pushedAuthorizationRequests`. */
export type ParMode = 'auto' | 'required' | 'off';

/**
 * The page of a login refused because the provider does not take pushed requests, which this gateway
 * requires: a provider error (its page shows this message as the detail), 503 until the provider or the
 * setting changes.
 */
const PAR_MISSING: ErrorFace = {
  code: ErrorCode.providerError,
  status: 503,
  message: 'The sign-in service does not accept the kind of sign-in request this gateway is set up to send. Please contact the administrator.',
};

/** How the mode and the provider's metadata fit: logged when this changes. */
type Fit = 'fine' | 'required-missing' | 'off-but-required';

/** Pushes (or not) one provider's authorization requests. */
export class PushedAuthorization {
  private fit: Fit = 'fine';

  constructor(
    private readonly mode: ParMode,
    private readonly providerId: string,
    private readonly log: Logger,
  ) {}

  /** Called with each metadata discovery loads: logs once when the mode stops (or starts) fitting the provider. */
  observe(metadata: Readonly<client.ServerMetadata>): void {
    const advertised = metadata.pushed_authorization_request_endpoint !== undefined;
    const fit: Fit =
      this.mode === 'required' && !advertised
        ? 'required-missing'
        : this.mode === 'off' && metadata.require_pushed_authorization_requests === true
          ? 'off-but-required'
          : 'fine';
    if (fit === this.fit) return;
    this.fit = fit;
    const at = { provider: this.providerId, issuer: metadata.issuer, option: 'pushedAuthorizationRequests', mode: this.mode };
    if (fit === 'required-missing') {
      this.log.error(at, 'pushedAuthorizationRequests is "required" but the provider advertises no pushed_authorization_request_endpoint; logins at this provider are refused with 503');
    } else if (fit === 'off-but-required') {
      this.log.warn(at, 'the provider requires pushed authorization requests (require_pushed_authorization_requests) but pushedAuthorizationRequests is "off"; it will likely refuse every login');
    } else {
      this.log.info(at, 'pushedAuthorizationRequests fits the provider again');
    }
  }

  /** The URL to send the browser to: the pushed request's, or one carrying every parameter in its query. */
  async authorizationUrl(provider: Discovered, call: ProviderCall, params: URLSearchParams): Promise<URL> {
    const advertised = provider.metadata.pushed_authorization_request_endpoint !== undefined;
    if (this.mode === 'off' || (this.mode === 'auto' && !advertised)) return client.buildAuthorizationUrl(provider.configuration, params);
    if (!advertised) throw new ProviderError({ reason: 'unavailable', cause: undefined }, PAR_MISSING);
    return call('par', () => client.buildAuthorizationUrlWithPAR(provider.configuration, params, dpopOptions(provider.dpop)), parFace);
  }
}

/**
 * A provider that cannot be reached or fails (5xx) is an outage: 503, try again. One that refuses the
 * pushed request (an OAuth error such as invalid_client, or an answer that is no PAR response) is a 502:
 * the browser did nothing wrong and retrying will not help until the gateway's registration is fixed.
 */
function parFace(failure: FailureDetails): ErrorFace {
  if (failure.reason === 'unavailable') {
    return { code: ErrorCode.providerUnavailable, status: 503, message: 'The sign-in service is not reachable right now. Please try again.' };
  }
  const what = failure.oauthError === undefined ? '' : ` (${failure.oauthError})`;
  return { code: ErrorCode.providerError, status: 502, message: `The sign-in service refused this gateway's sign-in request${what}. Please contact the administrator.` };
}
