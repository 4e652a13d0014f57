/** The `pages` section: a folder of templates replacing the built-in pages, and the built-in pages' branding. */
import { z } from 'zod';
import { parseUrl } from './schema-types.js';

/**
 * A logo is shown as `<img src>`: escaping cannot make a `javascript:` or `data:` URL harmless, so only an
 * absolute http(s) URL or a path on the gateway's own origin is accepted.
 */
const logoUrl = z.string().refine(
  (value) => {
    if (value === '') return true;
    if (value.startsWith('/')) return !value.startsWith('//') && !value.includes('\\') && !/\s/.test(value);
    const url = parseUrl(value);
    return url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:');
  },
  { message: 'expected "" (no logo), an absolute http(s) URL or a path starting with "/" such as "/static/logo.svg"' },
);

/** The `pages` section's shape; every key has a default, so the section may be left out (the built-in pages). */
export const pagesSection = z
  .strictObject({
    /** "" (the built-in pages), or a folder whose sign_in.html, error.html, signed_out.html replace them (read at start-up). */
    dir: z.string().default(''),
    title: z.string().min(1, { message: 'must not be empty' }).max(200, { message: 'at most 200 characters' }).default('authgate'),
    logo: logoUrl.default(''),
    footer: z.string().max(2000, { message: 'at most 2000 characters' }).default(''),
  })
  .prefault({});
