/**
 * The one configuration schema: field types, secure defaults and the hints shown when a value is wrong.
 * Pure: no I/O, no environment. `config/load.ts` feeds it a YAML tree whose `${VAR}` and `xxxFile`
 * references have already been resolved. The sections live in schema-*.ts; this file adds what spans them.
 */
import { z } from 'zod';
import { inheritDefaults } from './inherit-defaults.js';
import { checkAcrossFields } from './schema-checks.js';
import { DEFAULT_PROVIDER_ID, type ProviderConfig } from './schema-providers.js';
import { configShape, type Shape } from './schema-shape.js';

export { decodedKeyLength, duration } from './schema-types.js';

/** The whole configuration file. Objects are strict so a misspelt key is reported, not ignored. */
export const configSchema = z
  .preprocess(inheritDefaults, configShape)
  .superRefine(checkAcrossFields, { when: () => true })
  .transform(withProviders)
  // api.audiences defaults to the client id, which lives in another section (with several providers, to each
  // token's own provider's client id: proxy/principal.ts).
  .transform((config) =>
    config.api.audiences.length > 0 || config.providers.length > 1 ? config : { ...config, api: { ...config.api, audiences: [config.oidc.clientId] } },
  )
  // server.shutdownDelay defaults to 5 s, but never to as much as the grace period it must fit in.
  .transform((config) => ({
    ...config,
    server: { ...config.server, shutdownDelay: config.server.shutdownDelay ?? Math.min(5_000, Math.floor(config.server.shutdownGrace / 2)) },
  }));

/**
 * Both ways of naming providers, as one list: `oidc:` becomes the provider "default". `oidc` stays the
 * first provider's settings, the primary one (session keys are bound to it).
 */
function withProviders(config: Shape): Omit<Shape, 'oidc' | 'providers'> & { oidc: ProviderConfig; providers: ProviderConfig[] } {
  const providers: ProviderConfig[] = config.providers
    ? config.providers.map((provider) => ({ ...provider, name: provider.name ?? provider.id }))
    : // checkAcrossFields reported a file with neither, so validation has failed already when oidc is absent.
      [{ ...config.oidc!, id: DEFAULT_PROVIDER_ID, name: new URL(config.oidc!.issuer).host }];
  return { ...config, oidc: providers[0], providers };
}

/** The validated configuration as the rest of the gateway sees it (durations in milliseconds). */
export type Config = z.output<typeof configSchema>;
/** One upstream's validated settings. */
export type UpstreamConfig = Config['upstreams'][number];
/** One provider's validated settings. */
export type { ProviderConfig } from './schema-providers.js';
/** One upstream's `allow` rule. */
export type AllowRule = UpstreamConfig['allow'];
