/**
 * How a request the guard let through is sent to its upstream with @fastify/reply-from: one options object
 * per upstream (built on first use, so a reload's new upstreams get theirs), the query passed as received,
 * and the upstream's answer cleaned of what is not the client's business.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CompiledUpstream } from './upstreams.js';

type Headers = Record<string, string | string[] | undefined>;

/** What reply-from is told for one upstream. */
export interface ForwardOptions {
  getUpstream(): string;
  timeout: number;
  queryString(search: string, url: string, request: FastifyRequest): string;
  rewriteRequestHeaders(request: FastifyRequest, headers: Headers): Headers;
  rewriteHeaders(headers: Headers): Headers;
  onError(reply: FastifyReply, error: { error: Error & { statusCode?: number } }): void;
}

/** The options for each upstream, made once and kept as long as the upstream is in use. */
export function createForwardOptions(onError: ForwardOptions['onError']): (upstream: CompiledUpstream) => ForwardOptions {
  const made = new WeakMap<CompiledUpstream, ForwardOptions>();
  return (upstream) => {
    const known = made.get(upstream);
    if (known) return known;
    const origin = upstream.origin ?? '';
    const options: ForwardOptions = {
      getUpstream: () => origin,
      timeout: upstream.config.timeout,
      // The query exactly as the client sent it (the route step kept it apart from the normalised path).
      queryString: (_search, _url, request) => request.authgate.query,
      rewriteRequestHeaders: (request, headers) => upstream.injectHeaders(request, headers),
      rewriteHeaders: responseHeadersForClient,
      onError,
    };
    made.set(upstream, options);
    return options;
  };
}

/** Characters a header value may not carry (Node would refuse to send the response). */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7E\x80-\xFF]/;
const INVALID_HEADER_VALUE_ALL = /[^\t\x20-\x7E\x80-\xFF]/g;
const clean = (value: string) => (INVALID_HEADER_VALUE.test(value) ? value.replace(INVALID_HEADER_VALUE_ALL, '') : value);

/**
 * The upstream's response headers as the client gets them: without Keep-Alive (hop-by-hop: the upstream's
 * terms are for the gateway's connection), and with characters a header may not carry removed rather than
 * failing the response. Location and everything else pass unchanged.
 */
export function responseHeadersForClient(headers: Headers): Headers {
  const out: Headers = {};
  for (const name in headers) {
    if (name === 'keep-alive') continue;
    const value = headers[name];
    out[name] = typeof value === 'string' ? clean(value) : Array.isArray(value) ? value.map(clean) : value;
  }
  return out;
}
