/**
 * Several identity providers: `providers:` lists them, each with an id, a name for the sign-in page and every
 * key of the `oidc` section. `oidc:` stays valid and means one provider with the id "default". The first
 * provider is the primary one: cookies and Redis records are bound to it (session/keys.ts), and a session
 * from before several providers belongs to it.
 */
import { z } from 'zod';
import { oidcSection } from './schema-oidc.js';

/** A provider id: used in URLs (`/oauth2/start?provider=ID`), headers, metrics and sessions. */
export const providerId = z
  .string()
  .regex(/^[a-z0-9-]{1,32}$/, { message: 'lower-case letters, digits and "-" (at most 32): it appears in URLs, headers and metrics' })
  .meta({ title: 'provider id' });

/** The id `oidc:` stands for. */
export const DEFAULT_PROVIDER_ID = 'default';

/** One entry of `providers:`. */
export const providerSchema = oidcSection.extend({
  id: providerId,
  /** Shown on the sign-in page's button; the id when not given. */
  name: z.string().min(1).max(80).optional(),
});

/** The `providers` section's shape. */
export const providersSection = z.array(providerSchema).min(1, { message: 'give at least one provider, or use oidc: for one' });

/** One provider's validated settings, whichever way the file gave them. */
export type ProviderConfig = z.output<typeof oidcSection> & { id: string; name: string };
