/**
 * A GET with the request target exactly as given (fetch would normalise it first, and refuses to set Host):
 * latin1 characters go out as single bytes, so tests can send raw UTF-8, escapes and dot segments.
 */
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

/** What came back: status, headers and the body as text. */
export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Sends `GET target` to `base`'s host and port with exactly `headers`; a fresh connection unless an agent is
 * given, from `localAddress` when given (127.0.0.2 is a peer other than the usual 127.0.0.1).
 */
export function rawGet(base: string, target: string, headers: Record<string, string> = {}, agent: Agent | false = false, localAddress?: string): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: target, method: 'GET', headers, agent, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
