/**
 * The benchmark's upstream: the fastest useful HTTP server, so the proxies in front of it are what is measured.
 * Env: BENCH_PORT. Answers every request 200 "ok" and keeps connections alive.
 */
import { createServer } from 'node:http';

const BODY = Buffer.from('ok');
const HEADERS = { 'content-type': 'text/plain', 'content-length': String(BODY.length) };

const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, HEADERS);
  response.end(BODY);
});
// Longer than any proxy's idle pool timeout, so the proxies never race the upstream closing a socket.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(Number(process.env.BENCH_PORT), '127.0.0.1');
