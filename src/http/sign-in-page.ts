/**
 * The sign-in page's HTML: one button per provider. Replaced by the page templates (src/pages) when they land.
 */
import { escapeHtml } from './replies.js';

/** What the sign-in page shows. */
export interface SignInView {
  providers: Array<{ id: string; name: string; href: string }>;
  target: string;
  requestId: string;
}

/** Renders the sign-in page; every value escaped. */
export function renderSignIn(view: SignInView): string {
  const buttons = view.providers
    .map((p) => `<li><a class="provider" data-provider="${escapeHtml(p.id)}" href="${escapeHtml(p.href)}">Sign in with ${escapeHtml(p.name)}</a></li>`)
    .join('');
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>' +
    `<h1>Sign in</h1><ul>${buttons}</ul><p><small>Request id ${escapeHtml(view.requestId)}</small></p></body></html>`
  );
}
