/** The configuration file's shape, section by section; cross-field checks and derived defaults are added in schema.ts. */
import { z } from 'zod';
import { adminSection } from './schema-admin.js';
import { apiSection, oidcSection } from './schema-oidc.js';
import { pagesSection } from './schema-pages.js';
import { providersSection } from './schema-providers.js';
import { serverSection } from './schema-server.js';
import { sessionSection } from './schema-session.js';
import { tracingSection } from './schema-tracing.js';
import { defaultsSection, upstreamSchema } from './schema-upstreams.js';

/** Every section; objects are strict so a misspelt key is reported, not ignored. */
export const configShape = z.strictObject({
  server: serverSection,
  /** One provider; or `providers` for several (exactly one of the two: checked in schema-checks.ts). */
  oidc: oidcSection.optional(),
  providers: providersSection.optional(),
  session: sessionSection,
  api: apiSection,
  /** Upstream keys every upstream inherits unless it sets them (applied in schema.ts, before validation). */
  defaults: defaultsSection.optional(),
  upstreams: z.array(upstreamSchema).min(1, { message: 'give at least one upstream' }),
  tracing: tracingSection,
  pages: pagesSection,
  admin: adminSection,
});

/** The shape's parsed value, before the derived defaults. */
export type Shape = z.output<typeof configShape>;
