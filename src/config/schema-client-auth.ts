/**
 * The client authentication keys that depend on `clientAuthMethod`: a secret for the client_secret_*
 * methods, a private key for private_key_jwt. Checked per provider entry (`oidc` or `providers[i]`).
 */
import type { z } from 'zod';

type IssuePath = readonly PropertyKey[];

/** The keys of one provider entry this check reads. */
export interface ClientAuthKeys {
  clientAuthMethod?: string;
  clientSecret?: string | undefined;
  clientPrivateKey?: string | undefined;
}

/** Reports the credential the entry's method needs but lacks, at that credential's path. */
export function checkClientCredentials(
  at: IssuePath,
  provider: ClientAuthKeys,
  clean: (...paths: IssuePath[]) => boolean,
  ctx: z.core.$RefinementCtx<never>,
): void {
  // An invalid method is reported already; a missing secret still is too, as it always was (unless a key is given).
  const method = clean([...at, 'clientAuthMethod']) ? provider.clientAuthMethod : !provider.clientPrivateKey ? 'client_secret_basic' : undefined;
  if (method === undefined) return;
  if (method === 'private_key_jwt') {
    if (!provider.clientPrivateKey && clean([...at, 'clientPrivateKey'])) {
      ctx.addIssue({ code: 'custom', path: [...at, 'clientPrivateKey'], message: 'required with clientAuthMethod: private_key_jwt (or clientPrivateKeyFile)' });
    }
  } else if (provider.clientSecret === undefined && clean([...at, 'clientSecret'])) {
    ctx.addIssue({ code: 'custom', path: [...at, 'clientSecret'], message: 'required' });
  }
}
