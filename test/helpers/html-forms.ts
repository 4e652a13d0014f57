// The forms of an HTML page, as the test browser (browser-client.ts) submits them: action and hidden fields.

/** A form found in an HTML page: where it posts and its hidden fields. */
export interface HtmlForm {
  id?: string;
  action: string;
  method: string;
  fields: Record<string, string>;
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const raw = match?.[1] ?? match?.[2] ?? match?.[3];
  return raw === undefined ? undefined : decodeEntities(raw);
}

/** Every form in `html` with its absolute action URL and hidden inputs (good enough for oidc-provider's pages). */
export function parseForms(html: string, pageUrl: string | URL): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const tag = /<form\b[^>]*>/i.exec(match[0])?.[0] ?? '';
    const fields: Record<string, string> = {};
    for (const input of (match[1] ?? '').matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name && attribute(input[0], 'type')?.toLowerCase() === 'hidden') fields[name] = attribute(input[0], 'value') ?? '';
    }
    const id = attribute(tag, 'id');
    forms.push({
      ...(id ? { id } : {}),
      action: new URL(attribute(tag, 'action') ?? '', pageUrl).href,
      method: (attribute(tag, 'method') ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}
