/**
 * Request helpers of the slow- and large-request tests: a deadline on any promise, and a request through
 * node:http whose body the test writes itself (chunk by chunk, or never).
 */
import { request, type IncomingMessage } from 'node:http';

/** Rejects when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A request through node:http; resolves with the status and body. */
export function send(
  base: string,
  target: string,
  opts: { method?: string; headers?: Record<string, string | number> } = {},
): { req: ReturnType<typeof request>; answer: Promise<{ status: number; body: string }> } {
  const url = new URL(base);
  const req = request({ host: url.hostname, port: url.port, path: target, method: opts.method ?? 'GET', headers: opts.headers, agent: false });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { req, answer };
}
