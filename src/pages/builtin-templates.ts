/**
 * The built-in pages as Handlebars text. They are TypeScript strings, not .html files, so `tsc` carries
 * them into dist/ and the packed tarball with nothing to copy. Every value is a double-stash `{{value}}`
 * (HTML-escaped); no triple-stash anywhere. One layout, four bodies.
 */

const STYLE =
  'body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}' +
  'main{max-width:34rem;margin:3rem auto;padding:2rem;background:#fff;border:1px solid #d0d7de;border-radius:8px}' +
  'header{display:flex;align-items:center;gap:.6rem;margin-bottom:1.5rem;font-weight:600}' +
  'header img{max-height:32px;max-width:10rem}' +
  'h1{font-size:1.35rem;margin:0 0 1rem}p{line-height:1.5}' +
  'ul.actions,ul.providers{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.6rem}' +
  'a.button,button{display:inline-block;padding:.5rem 1rem;border-radius:6px;border:1px solid #1f6feb;' +
  'background:#1f6feb;color:#fff;text-decoration:none;font:inherit;cursor:pointer}' +
  'ul.actions li+li a.button{background:#fff;color:#1f6feb}' +
  '.detail,.request-id,footer{color:#59636e;font-size:.85rem}footer{margin-top:2rem}';

/** Wraps a page body in the shared frame: head, product name and logo, footer. */
function layout(pageTitle: string, body: string): string {
  return (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<meta name="robots" content="noindex">\n<title>${pageTitle} · {{title}}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n<main>\n` +
    '<header>{{#if logo}}<img src="{{logo}}" alt="">{{/if}}<span class="product">{{title}}</span></header>\n' +
    `${body}\n` +
    '{{#if requestId}}<p class="request-id">Request id: <code>{{requestId}}</code></p>{{/if}}\n' +
    '{{#if footer}}<footer>{{footer}}</footer>{{/if}}\n' +
    '</main>\n</body>\n</html>\n'
  );
}

const ACTIONS = '{{#if actions.length}}<ul class="actions">{{#each actions}}<li><a class="button" href="{{href}}">{{text}}</a></li>{{/each}}</ul>{{/if}}';

/** error.html: every error page (status, heading, a sentence, who is signed in, the ways on). */
const ERROR = layout(
  '{{heading}}',
  '<h1><span class="status">{{status}}</span> {{heading}}</h1>\n' +
    '<p class="message">{{message}}</p>\n' +
    '{{#if detail}}<p class="detail">{{detail}}</p>{{/if}}\n' +
    '{{#if user}}<p class="user">Signed in as <strong>{{user}}</strong>{{#if email}} ({{email}}){{/if}}.</p>{{/if}}\n' +
    ACTIONS,
);

/** sign_in.html: one button per provider. */
const SIGN_IN = layout(
  'Sign in',
  '<h1>Sign in</h1>\n<p>Choose how you want to sign in.</p>\n' +
    '<ul class="providers">{{#each providers}}<li><a class="button" href="{{href}}" data-provider="{{id}}">{{name}}</a></li>{{/each}}</ul>\n' +
    '{{#if target}}<p class="detail">After signing in you go on to <code>{{target}}</code>.</p>{{/if}}',
);

/** signed_out.html: the landing after sign-out. */
const SIGNED_OUT = layout(
  'Signed out',
  '<h1>You are signed out</h1>\n<p class="message">You have been signed out of {{title}}.</p>\n' +
    '<ul class="actions"><li><a class="button" href="{{signInHref}}">Sign in again</a></li></ul>',
);

/** The sign-out confirmation (built-in only): one button posting the form back to the same origin. */
const SIGN_OUT = layout(
  '{{heading}}',
  '<h1>{{heading}}</h1>\n<p class="message">{{message}}</p>\n' +
    '<form method="post" action="{{action}}">{{#each fields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/each}}' +
    '<button type="submit">{{button}}</button></form>',
);

/** The built-in template of each page. */
export const BUILTIN_TEMPLATES = {
  error: ERROR,
  sign_in: SIGN_IN,
  signed_out: SIGNED_OUT,
  sign_out: SIGN_OUT,
} as const;
