/**
 * How openid-client reaches the provider (its `customFetch`): undici's request API on a keep-alive pool,
 * with the answer handed back as a WHATWG Response (buffered-response.ts). The global fetch's streams,
 * controllers and timing bookkeeping were a fifth of the gateway's CPU per login (BENCHMARKS.md).
 * Redirects are not followed (openid-client asks for `redirect: 'manual'`), answers are bounded in size, and
 * failures are thrown as fetch throws them.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { CustomFetch } from 'openid-client';
import type { Tracing } from '../observability/tracing.js';
import { Agent, request } from 'undici';
import { bufferedResponse } from './buffered-response.js';

/** Larger answers from the provider are refused: none of the endpoints used here sends more than a few KB. */
export const MAX_PROVIDER_RESPONSE_BYTES = 1024 * 1024;

/** Statuses whose Response may not have a body. */
const NULL_BODY = new Set([204, 205, 304]);

/** A provider answer that is larger than MAX_PROVIDER_RESPONSE_BYTES. */
export class ProviderResponseTooLarge extends Error {
  constructor(url: string) {
    super(`the provider's answer from ${new URL(url).origin} is larger than ${MAX_PROVIDER_RESPONSE_BYTES} bytes`);
    this.name = 'ProviderResponseTooLarge';
  }
}

/** A fetch body as undici's request API takes it. */
function requestBody(body: Parameters<CustomFetch>[1]['body']): string | Uint8Array | Readable | null | undefined {
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof ReadableStream) return Readable.fromWeb(body as WebReadableStream);
  return body;
}

/** The fetch for one gateway's provider calls (one pool, closed with `close()`); traced when tracing is on. */
export function createProviderFetch(tracing?: Tracing): { fetch: CustomFetch; close(): Promise<void> } {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 32 });
  const fetch: CustomFetch = async (url, options) => {
    try {
      return await send(url, options);
    } catch (err) {
      // What the global fetch throws, which openid-client and the error mapping expect: the signal's reason
      // when it was aborted (a TimeoutError), else a TypeError "fetch failed" with the network error as cause.
      // An oversized answer counts as a failing provider too (503, like any answer that cannot be read).
      if (options.signal?.aborted) throw options.signal.reason;
      throw new TypeError('fetch failed', { cause: err });
    }
  };
  const send = async (url: string, options: Parameters<CustomFetch>[1]): Promise<Response> => {
    const answer = await request(url, {
      method: options.method as 'GET',
      headers: options.headers,
      body: requestBody(options.body),
      signal: options.signal,
      dispatcher: agent,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_PROVIDER_RESPONSE_BYTES) {
        answer.body.destroy();
        throw new ProviderResponseTooLarge(url);
      }
      chunks.push(chunk);
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.append(name, value);
    }
    return bufferedResponse(NULL_BODY.has(answer.statusCode) ? null : Buffer.concat(chunks), { status: answer.statusCode, headers });
  };
  return { fetch: tracing ? tracing.traceFetch(fetch) : fetch, close: () => agent.close() };
}
