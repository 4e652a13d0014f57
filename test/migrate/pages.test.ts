/**
 * oauth2-proxy's branding → `pages`: a logo URL and a footer carry over and pass `--check`; a logo file,
 * a banner, a button label and Go templates are reported with where authgate's equivalent lives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { convertOptions } from '../../src/migrate/convert.js';
import { emitYaml } from '../../src/migrate/emit-yaml.js';
import { formatLine } from '../../src/migrate/migration.js';
import { readProxyOptions } from '../../src/migrate/read-sources.js';
import { TEST_SESSION_KEY } from '../helpers/gateway.js';
import { BASE_FLAGS, check } from './migrate-cli.js';

/** A whole oauth2-proxy configuration, with a cookie secret so the output passes --check. */
const BASE = [...BASE_FLAGS, '--cookie-secret=0123456789abcdef0123456789abcdef'];

function convert(flags: string[]) {
  const m = convertOptions(readProxyOptions({ env: {}, flags: [...BASE, ...flags] }));
  return { m, pages: m.tree.pages, lines: m.lines.map(formatLine) };
}

const linesAbout = (lines: string[], option: string) => lines.filter((l) => l.startsWith(`authgate migrate: ${option}: `));

describe('oauth2-proxy branding into pages', () => {
  it('carries a logo URL and a footer, and the result passes --check', async () => {
    const { m, pages, lines } = convert(['--custom-sign-in-logo=https://cdn.example.com/logo.svg', '--footer=Acme Corp internal tools']);
    assert.deepEqual(pages, { logo: 'https://cdn.example.com/logo.svg', footer: 'Acme Corp internal tools' });
    assert.deepEqual([...linesAbout(lines, 'custom_sign_in_logo'), ...linesAbout(lines, 'footer')], []);
    const yaml = emitYaml(m, 'flags');
    assert.deepEqual((parse(yaml) as { pages: unknown }).pages, pages);
    const checked = await check(yaml, { ...m.secretEnv, AUTHGATE_SESSION_KEY: TEST_SESSION_KEY });
    assert.equal(checked.code, 0, `${checked.stderr}\n${yaml}`);
  });

  it('says "-" (oauth2-proxy\'s "none") changes nothing, and writes no pages section', () => {
    const { m, lines } = convert(['--custom-sign-in-logo=-', '--footer=-', '--banner=-']);
    assert.deepEqual(m.tree.pages, {});
    assert.ok(!/^pages:/m.test(emitYaml(m, 'flags')));
    assert.deepEqual(lines.filter((l) => /custom_sign_in_logo|footer|banner/.test(l)), []);
  });

  it('reports a logo file: authgate shows a logo by URL', () => {
    const { pages, lines } = convert(['--custom-sign-in-logo=/etc/oauth2-proxy/logo.png']);
    assert.equal(pages.logo, undefined, 'a file path is not a path on the gateway\'s origin');
    assert.match(linesAbout(lines, 'custom_sign_in_logo')[0] ?? '', /not carried: "\/etc\/oauth2-proxy\/logo.png" is a file; .*pages\.logo/);
  });

  it('keeps a footer with HTML as text and says so; refuses one longer than pages.footer takes', () => {
    const html = convert(['--footer=<a href="https://wiki.example.com">Help</a>']);
    assert.equal(html.pages.footer, '<a href="https://wiki.example.com">Help</a>');
    assert.match(linesAbout(html.lines, 'footer')[0] ?? '', /as text: its HTML tags appear as written/);
    const long = convert([`--footer=${'x'.repeat(2001)}`]);
    assert.equal(long.pages.footer, undefined);
    assert.match(linesAbout(long.lines, 'footer')[0] ?? '', /not carried: longer than pages\.footer's 2000 characters/);
  });

  it('reports the banner, the button label and Go templates with where authgate\'s equivalent lives', () => {
    const { lines } = convert(['--banner=Welcome', '--provider-display-name=Acme SSO', '--custom-templates-dir=/templates']);
    assert.match(linesAbout(lines, 'banner')[0] ?? '', /not carried: with one provider authgate has no sign-in page/);
    assert.match(linesAbout(lines, 'provider_display_name')[0] ?? '', /providers\[\]\.name labels their buttons/);
    assert.match(linesAbout(lines, 'custom_templates_dir')[0] ?? '', /pages\.dir .*docs\/pages\.md/);
  });
});
