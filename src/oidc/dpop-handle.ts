/**
 * The provider side of DPoP: one openid-client DPoP handle per provider for the life of the process (it
 * keeps the provider's nonces, so one handle learns each nonce once), and the options every call that
 * obtains or presents a bound token passes (code grant, refresh, userinfo; PAR and per-upstream grants too).
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { cryptoKeyPair, type DpopKeys } from './dpop-key.js';

/** A provider's DPoP handle and the thumbprint of its key (what `dpop_jkt` and bound tokens carry). */
export interface DpopBinding {
  handle: client.DPoPHandle;
  jkt: string;
}

/** What a provider call passes to openid-client: `{ DPoP }` with DPoP on, nothing without. */
export function dpopOptions(binding: DpopBinding | undefined): { DPoP?: client.DPoPHandle } {
  return binding === undefined ? {} : { DPoP: binding.handle };
}

/**
 * The handle, made once from the first configuration discovery loads (it reads only the client's clock
 * skew from it, so later metadata refreshes keep it); warns when the provider does not list the key's alg.
 */
export async function dpopBinding(
  previous: DpopBinding | undefined,
  keys: DpopKeys | undefined,
  configuration: client.Configuration,
  metadata: client.ServerMetadata,
  log: Logger,
): Promise<DpopBinding | undefined> {
  if (!keys) return undefined;
  const advertised = metadata.dpop_signing_alg_values_supported;
  if (!advertised?.includes(keys.current.alg)) {
    log.warn({ alg: keys.current.alg, advertised }, 'oidc.dpop is on but the provider does not list this DPoP algorithm; its tokens may come unbound or be refused');
  }
  if (previous) return previous;
  return { handle: client.getDPoPHandle(configuration, await cryptoKeyPair(keys.current)), jkt: keys.current.jkt };
}
