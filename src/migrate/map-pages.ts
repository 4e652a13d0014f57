/**
 * oauth2-proxy's branding (custom_sign_in_logo, footer) → `pages`, which brands authgate's own pages
 * (error, signed-out, and the sign-in page of several providers). With one provider authgate shows no
 * sign-in page: a signed-out navigation goes straight to the provider, so a banner or a button label has
 * nowhere to go, and oauth2-proxy's Go templates do not fit authgate's.
 */
import type { Migration } from './migration.js';

/** oauth2-proxy's value that turns a default piece of its page off. */
const OFF = '-';
/** The longest `pages.footer` authgate takes (schema-pages.ts). */
const FOOTER_MAX = 2000;
const NO_SIGN_IN_PAGE = 'with one provider authgate has no sign-in page: a signed-out navigation goes straight to the provider';

/** Maps the logo and footer into `pages`; reports the rest of oauth2-proxy's page options. */
export function mapPages(m: Migration): void {
  mapLogo(m);
  mapFooter(m);
  const banner = m.string('banner');
  if (banner !== '' && banner !== OFF) m.notCarried('banner', `${NO_SIGN_IN_PAGE}; pages.footer shows a line of text on every page of authgate's own`);
  if (m.string('provider_display_name') !== '') m.notCarried('provider_display_name', `${NO_SIGN_IN_PAGE} (with several, providers[].name labels their buttons)`);
  if (m.string('custom_templates_dir') !== '') {
    m.notCarried('custom_templates_dir', 'oauth2-proxy\'s Go templates do not carry over; pages.dir takes templates with authgate\'s own placeholders (docs/pages.md)');
  }
}

function mapLogo(m: Migration): void {
  const logo = m.string('custom_sign_in_logo');
  if (logo === '' || logo === OFF) return; // authgate's pages show no logo unless given one
  if (/^https?:\/\//i.test(logo)) {
    m.tree.pages.logo = logo;
    return;
  }
  m.notCarried('custom_sign_in_logo', `"${logo}" is a file; authgate shows a logo by URL: serve the image and set pages.logo to its https URL or a path on the gateway's own origin`);
}

function mapFooter(m: Migration): void {
  const footer = m.string('footer');
  if (footer === '' || footer === OFF) return; // authgate's pages have no footer unless given one
  if (footer.length > FOOTER_MAX) {
    m.notCarried('footer', `longer than pages.footer's ${FOOTER_MAX} characters`);
    return;
  }
  m.tree.pages.footer = footer;
  if (/<[a-z!/]/i.test(footer)) m.note('footer', 'authgate shows pages.footer as text: its HTML tags appear as written, not as markup');
}
