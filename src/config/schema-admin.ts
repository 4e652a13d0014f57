/** The `admin` section: the session control API's own listener and the bearer tokens it accepts. */
import { z } from 'zod';
import { listen } from './schema-types.js';

/** Shorter tokens can be guessed by trying; `openssl rand -base64 32` gives 44 characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

// The title goes last: a refinement is a new schema, which would not carry the secret's title.
const adminToken = z
  .string()
  .min(1, { message: 'an admin token is empty; give tokens or tokensFile' })
  .refine((token) => token.length >= MIN_ADMIN_TOKEN_LENGTH, {
    message: `an admin token must have at least ${MIN_ADMIN_TOKEN_LENGTH} characters; generate one with \`openssl rand -base64 32\``,
  })
  // A token goes in one `Authorization: Bearer` header: one with a space or a control character could never match.
  .refine((token) => /^[\x21-\x7e]+$/.test(token), {
    message: 'an admin token is printable ASCII without spaces (it is sent as "Authorization: Bearer TOKEN"); generate one with `openssl rand -base64 32`',
  })
  .meta({ title: 'secret' });

/** The `admin` section's shape; off (no listener) unless `listen` is set, and then `tokens` must be given. */
export const adminSection = z
  .strictObject({
    listen: z.union([z.literal(''), listen], { error: 'expected "host:port", e.g. "127.0.0.1:9091", or "" (no admin API)' }).default(''),
    tokens: z.array(adminToken).default([]),
  })
  .superRefine((admin, ctx) => {
    if (admin.listen !== '' && Array.isArray(admin.tokens) && admin.tokens.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['tokens'], message: 'give at least one token (or tokensFile) when admin.listen is set' });
    }
  })
  .prefault({});
