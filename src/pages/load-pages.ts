/**
 * The page templates, compiled once at start-up: the built-in ones, each replaced by `pages.dir/NAME.html`
 * when that file exists. A template that does not compile (or fails on a sample view) stops the start with
 * an error naming `pages.dir` and the file; a missing file means the built-in page.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { BUILTIN_TEMPLATES } from './builtin-templates.js';
import type { CommonView, PageName, PageViews } from './views.js';

/** The `pages` settings the templates need (the configuration's `pages` section). */
export interface PagesSettings {
  dir: string;
  title: string;
  logo: string;
  footer: string;
}

/** A compiled template for each page, the branding and the origin the pages link within. */
export interface Pages {
  /** The branding every view starts from (requestId filled in per request). */
  brand: Omit<CommonView, 'requestId'>;
  publicUrl: string;
  render<K extends PageName>(name: K, view: PageViews[K]): string;
  /** Where each page's template came from: "built-in" or the file's path. */
  sources: Record<PageName, string>;
}

/** A page template in `pages.dir` that cannot be used: the gateway does not start. */
export class PageTemplateError extends Error {
  readonly code = 'AUTHGATE_ERR_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PageTemplateError';
  }
}

/** The pages `pages.dir` may replace (sign_out, the confirmation, is built-in only). */
export const REPLACEABLE_PAGES = ['sign_in', 'error', 'signed_out'] as const satisfies readonly PageName[];

// Own instance: no helper or partial registered elsewhere can reach these templates.
const handlebars = Handlebars.create();
// knownHelpersOnly: a template may use the built-in block helpers (if, each, with, unless) and nothing else.
const COMPILE_OPTIONS: CompileOptions = { knownHelpersOnly: true, strict: false, noEscape: false };

type Template = (view: object) => string;

/** Reads and compiles every page template; throws PageTemplateError for a template that cannot be used. */
export function loadPages(settings: PagesSettings, publicUrl: string): Pages {
  const templates = {} as Record<PageName, Template>;
  const sources = {} as Record<PageName, string>;
  const dir = settings.dir === '' ? undefined : resolve(settings.dir);
  for (const name of Object.keys(BUILTIN_TEMPLATES) as PageName[]) {
    const file = dir !== undefined && (REPLACEABLE_PAGES as readonly string[]).includes(name) ? join(dir, `${name}.html`) : undefined;
    const text = file === undefined ? undefined : readTemplate(file);
    const source = text === undefined ? 'built-in' : (file as string);
    templates[name] = compile(text ?? BUILTIN_TEMPLATES[name], name, source);
    sources[name] = source;
  }
  const brand = { title: settings.title, logo: settings.logo, footer: settings.footer };
  return {
    brand,
    publicUrl,
    sources,
    render: (name, view) => templates[name](view),
  };
}

/** The file's text, or undefined when there is no such file (the built-in page is used). */
function readTemplate(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PageTemplateError(`pages.dir: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Compiles one template and renders it once with a sample view, so every mistake shows at start-up. */
function compile(text: string, name: PageName, source: string): Template {
  try {
    const template = handlebars.compile(text, COMPILE_OPTIONS);
    template(SAMPLE_VIEWS[name]);
    return template;
  } catch (err) {
    const reason = (err as Error).message.split('\n').filter((line) => line.trim() !== '').join(' ');
    throw new PageTemplateError(`pages.dir: ${source}: the ${name} template does not compile: ${reason}`, { cause: err });
  }
}

const SAMPLE_COMMON: CommonView = { title: 'authgate', logo: '', footer: '', requestId: 'sample' };
const SAMPLE_VIEWS: PageViews = {
  error: { ...SAMPLE_COMMON, status: 500, heading: 'h', message: 'm', detail: '', user: 'u', email: '', actions: [{ href: '/', text: 't' }], target: '/' },
  sign_in: { ...SAMPLE_COMMON, providers: [{ id: 'p', name: 'P', href: '/' }], target: '/' },
  signed_out: { ...SAMPLE_COMMON, signInHref: '/' },
  sign_out: { ...SAMPLE_COMMON, heading: 'h', message: 'm', action: '/', fields: [{ name: 'n', value: 'v' }], button: 'b' },
};
