// A recording "legacy app" that tests put behind the gateway to see exactly what was proxied.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the upstream received it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A running upstream and what it has received so far. */
export interface StartedUpstream {
  /** "http://127.0.0.1:PORT". */
  url: string;
  port: number;
  /** Every request in arrival order (recorded once its body has been read). */
  requests: RecordedRequest[];
  last(): RecordedRequest | undefined;
  /** Stops the server and destroys open connections, including ones waiting on /slow/. */
  close(): Promise<void>;
}

/** How long paths under /slow/ wait before answering, for timeout tests. */
export const SLOW_DELAY_MS = 2000;

/**
 * Starts an upstream on 127.0.0.1 that answers every request 200 with JSON `{ method, url, headers }`, except
 * `/redirect?to=LOCATION` (302 to LOCATION) and paths under /slow/ (answered after SLOW_DELAY_MS).
 */
export async function startUpstream(opts: { port?: number } = {}): Promise<StartedUpstream> {
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      const headers: IncomingHttpHeaders = { ...req.headers };
      requests.push({ method: req.method ?? 'GET', url, headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ method: req.method, url, headers }));
      };
      if (url.startsWith('/redirect?to=')) {
        // The app's own redirects: 302 to whatever `to` says (relative or absolute), as legacy apps do.
        res.writeHead(302, { location: decodeURIComponent(url.slice('/redirect?to='.length)), 'content-length': '0' });
        return res.end();
      }
      if (!url.startsWith('/slow/')) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, SLOW_DELAY_MS);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    last: () => requests[requests.length - 1],
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
