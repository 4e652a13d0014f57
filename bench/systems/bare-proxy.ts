/**
 * System 1, the floor: fastify 5 + @fastify/http-proxy to the upstream, no authentication, no logging.
 * The same proxy plugin and undici pool size authgate uses, so the difference is what authgate adds.
 * Env: BENCH_PORT, BENCH_UPSTREAM.
 */
import fastifyHttpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(fastifyHttpProxy, { upstream: String(process.env.BENCH_UPSTREAM), undici: { connections: 128 } });
await app.listen({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT) });
// A clean exit on SIGTERM, so that `node --cpu-prof` writes its profile (bench:profile).
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
