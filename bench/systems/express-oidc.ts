/**
 * System 2, what a Node user would pick instead: express 5 + express-openid-connect 3 (its default encrypted,
 * rolling cookie session) + http-proxy-middleware 3 with a keep-alive agent.
 * Env: BENCH_PORT, BENCH_UPSTREAM, BENCH_ISSUER, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_SECRET.
 */
import { Agent } from 'node:http';
import express from 'express';
import { auth } from 'express-openid-connect';
import { createProxyMiddleware } from 'http-proxy-middleware';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const port = Number(env('BENCH_PORT'));
const app = express();
app.use(
  auth({
    authRequired: true,
    idpLogout: false,
    issuerBaseURL: env('BENCH_ISSUER'),
    baseURL: `http://127.0.0.1:${port}`,
    clientID: env('BENCH_CLIENT_ID'),
    clientSecret: env('BENCH_CLIENT_SECRET'),
    secret: env('BENCH_SECRET'),
    authorizationParams: { response_type: 'code', scope: 'openid profile email' },
  }),
);
app.use(
  createProxyMiddleware({
    target: env('BENCH_UPSTREAM'),
    agent: new Agent({ keepAlive: true, maxSockets: 128 }),
  }),
);
app.listen(port, '127.0.0.1');
