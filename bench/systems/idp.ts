/**
 * The identity provider in its own process (test/helpers/idp.ts: panva's oidc-provider), so its CPU is never
 * counted as the gateway's. Env: BENCH_PORT, BENCH_CLIENTS (a JSON array of IdpClient).
 */
import { startIdp, type IdpClient } from '../../test/helpers/idp.js';

const clients = JSON.parse(process.env.BENCH_CLIENTS ?? '[]') as IdpClient[];
await startIdp({ port: Number(process.env.BENCH_PORT), clients });
