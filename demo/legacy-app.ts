// The demo's "legacy app": it has no login of its own and only shows what the gateway forwarded to it.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

interface LegacyView {
  user: { preferredUsername: string; email: string } | null;
  groups: string[];
  /** X-Forwarded-Provider: the identity provider the user signed in with, or null. */
  provider: string | null;
  /** First 8 characters of the bearer token and "…", or null when no bearer token arrived. */
  bearer: string | null;
  path: string;
  headers: Record<string, string>;
}

// Credentials are never echoed: the page only says they arrived.
const HIDDEN_HEADER = /^(authorization|cookie)$|token/i;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function view(path: string, headers: IncomingHttpHeaders): LegacyView {
  const username = single(headers, 'x-forwarded-preferred-username');
  const email = single(headers, 'x-forwarded-email');
  const bearer = /^Bearer\s+(\S+)/i.exec(single(headers, 'authorization') ?? '')?.[1];
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    shown[name] = HIDDEN_HEADER.test(name) ? '(present)' : Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    user: username || email ? { preferredUsername: username ?? '', email: email ?? '' } : null,
    groups: (single(headers, 'x-forwarded-groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean),
    provider: single(headers, 'x-forwarded-provider') ?? null,
    bearer: bearer ? `${bearer.slice(0, 8)}…` : null,
    path,
    headers: shown,
  };
}

function html(v: LegacyView): string {
  const user = v.user ? `Signed in as ${v.user.preferredUsername} (${v.user.email})` : 'Not signed in';
  const rows = Object.entries(v.headers)
    .map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Legacy app</title></head>
<body>
<h1>Legacy app</h1>
<p id="user">${escapeHtml(user)}</p>
<p id="groups">${escapeHtml(v.groups.length ? v.groups.join(', ') : '(none)')}</p>
<p id="provider">${escapeHtml(v.provider ? `Signed in through ${v.provider}` : 'No provider named')}</p>
<p id="bearer">${escapeHtml(v.bearer ? `Bearer token received: ${v.bearer}` : 'No bearer token received')}</p>
<p id="path">${escapeHtml(v.path)}</p>
<table id="headers">${rows}</table>
<p><a id="sign-out" href="/oauth2/sign_out">Sign out</a></p>
</body></html>`;
}

/** The demo's logo, served at LOGO_PATH for pages.logo (the gateway's /brand route is public). */
const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32" viewBox="0 0 120 32">
<rect width="32" height="32" rx="7" fill="#0b6e4f"/><path d="M9 22 16 8l7 14z" fill="#fff"/>
<text x="40" y="22" font-family="sans-serif" font-size="16" font-weight="700" fill="#0b6e4f">Demo</text></svg>
`;
const LOGO_PATH = '/brand/logo.svg';

/** Starts the legacy app on 127.0.0.1:`port` (0 for a free port); JSON callers get the same view as data. */
export async function startLegacyApp(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    if (req.url === LOGO_PATH) {
      res.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=3600' });
      res.end(LOGO_SVG);
      return;
    }
    const data = view(req.url ?? '/', req.headers);
    if ((req.headers.accept ?? '').includes('application/json')) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(data));
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html(data));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
