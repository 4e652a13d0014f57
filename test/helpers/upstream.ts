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

/** A request the upstream keeps unanswered until the test lets it go: a request in flight, with no timer. */
export interface HeldRequest {
  /** Resolves with the request as soon as the upstream has received it (body read). */
  arrived: Promise<RecordedRequest>;
  /** Sends the usual 200 answer now, or on arrival if it has not arrived yet; harmless once the client is gone. */
  release(): void;
}

/** A running upstream and what it has received so far. */
export interface StartedUpstream {
  /** "http://127.0.0.1:PORT". */
  url: string;
  port: number;
  /** Every request in arrival order (recorded once its body has been read). */
  requests: RecordedRequest[];
  last(): RecordedRequest | undefined;
  /**
   * Holds the next request whose path starts with `pathPrefix` until `release()`; never releasing it gives an
   * upstream that does not answer (timeouts, shutdown grace). Several holds match in the order they were made.
   */
  hold(pathPrefix: string): HeldRequest;
  /** Stops the server and destroys open connections, including held ones. */
  close(): Promise<void>;
}

/** A hold waiting for its request. */
interface Hold {
  pathPrefix: string;
  arrive(request: RecordedRequest, answer: () => void): void;
}

/**
 * Starts an upstream on 127.0.0.1 that answers every request 200 with JSON `{ method, url, headers }`, except
 * `/redirect?to=LOCATION` (302 to LOCATION) and requests a test holds (answered when it releases them).
 */
export async function startUpstream(opts: { port?: number } = {}): Promise<StartedUpstream> {
  const requests: RecordedRequest[] = [];
  const holds: Hold[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      const headers: IncomingHttpHeaders = { ...req.headers };
      const recorded: RecordedRequest = { method: req.method ?? 'GET', url, headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const answer = () => {
        if (res.destroyed || res.headersSent) return; // the client is gone, or a second release()
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ method: req.method, url, headers }));
      };
      if (url.startsWith('/redirect?to=')) {
        // The app's own redirects: 302 to whatever `to` says (relative or absolute), as legacy apps do.
        res.writeHead(302, { location: decodeURIComponent(url.slice('/redirect?to='.length)), 'content-length': '0' });
        return res.end();
      }
      const index = holds.findIndex((hold) => url.startsWith(hold.pathPrefix));
      if (index === -1) return answer();
      holds.splice(index, 1)[0]?.arrive(recorded, answer);
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
    hold(pathPrefix) {
      let released = false;
      let answer: (() => void) | undefined;
      const arrived = new Promise<RecordedRequest>((resolve) => {
        holds.push({
          pathPrefix,
          arrive(request, answerIt) {
            answer = answerIt;
            resolve(request);
            if (released) answerIt();
          },
        });
      });
      return {
        arrived,
        release() {
          released = true;
          answer?.();
        },
      };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        holds.length = 0;
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // held requests included: their clients see the connection drop
      }),
  };
}
