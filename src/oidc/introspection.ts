/** RFC 7662 token introspection: the provider's verdict on an opaque access token, asked as this client. */
import * as client from 'openid-client';
import { ErrorCode } from '../errors.js';
import type { Discovered } from './discovery.js';
import { ProviderError, type ErrorFace, type ProviderCall } from './provider-call.js';

/** Whatever failed, a bearer token that cannot be checked is an outage for its client, never a refusal. */
const CANNOT_CHECK: ErrorFace = {
  code: ErrorCode.providerUnavailable,
  status: 503,
  message: 'The sign-in service is not reachable to check this token. Please retry.',
};

/** Asks the provider about a token; resolves to its answer (check `active`), rejects with a ProviderError. */
export async function introspectToken(provider: Discovered, call: ProviderCall, token: string): Promise<Record<string, unknown>> {
  if (!provider.metadata.introspection_endpoint) {
    throw new ProviderError(
      { reason: 'unavailable', cause: undefined },
      { code: ErrorCode.providerUnavailable, status: 503, message: 'The provider offers no token introspection.' },
    );
  }
  return call('introspection', () => client.tokenIntrospection(provider.configuration, token), () => CANNOT_CHECK);
}
