/**
 * Gateway CPU per full login: N complete sign-ins through a gateway (redirect to the provider, its login and
 * consent forms, the callback with its code grant and ID token checks, the session, the first proxied page),
 * with the gateway's CPU time read from /proc before and after. The provider runs in its own process, so its
 * work is counted apart.
 */
import { cpuMs, type BenchProcess } from './proc.js';
import { signIn } from './sign-in.js';
import type { RunningSystem, SystemId } from './stack.js';

/** What N logins cost. */
export interface LoginCost {
  id: SystemId;
  logins: number;
  failures: number;
  seconds: number;
  /** Gateway CPU (user + system) per login once warm (after the warm-up logins), ms. */
  cpuMsPerLogin: number;
  /** Gateway CPU per login over the first COLD_LOGINS logins of a freshly started gateway, ms. */
  coldCpuMsPerLogin: number;
  /** Logins made before the measured ones (the cold ones included). */
  warmUp: number;
  /** The provider's CPU per login, ms, for scale. */
  idpCpuMsPerLogin: number;
  loginsPerSecond: number;
  firstError?: string;
}

/** The first logins a gateway serves, measured apart: what a gateway that signs in few users pays. */
export const COLD_LOGINS = 50;

/** Signs in `count` times through `system`, `concurrency` at once, and returns the gateway's and the provider's CPU. */
export async function loginBatch(system: RunningSystem, idp: BenchProcess, count: number, concurrency: number) {
  let next = 0;
  let failures = 0;
  let firstError: string | undefined;
  const gatewayBefore = cpuMs(system.proc.pid);
  const idpBefore = cpuMs(idp.pid);
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) {
      next += 1;
      try {
        await signIn(`${system.url}/`);
      } catch (err) {
        failures += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const succeeded = count - failures;
  return {
    succeeded,
    failures,
    firstError,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    gatewayMs: cpuMs(system.proc.pid) - gatewayBefore,
    idpMs: cpuMs(idp.pid) - idpBefore,
  };
}

/**
 * Measures `count` logins through `system`, `concurrency` at once, after `warmUp` unmeasured ones; the
 * first COLD_LOGINS of those (one at a time: the first logins this gateway serves besides its benchmark
 * sign-in) are measured too, as the cold figure.
 */
export async function measureLoginCost(system: RunningSystem, idp: BenchProcess, count: number, concurrency: number, warmUp: number): Promise<LoginCost> {
  const cold = await loginBatch(system, idp, Math.min(COLD_LOGINS, warmUp), 1);
  if (warmUp > COLD_LOGINS) await loginBatch(system, idp, warmUp - COLD_LOGINS, concurrency);
  const run = await loginBatch(system, idp, count, concurrency);
  const firstError = cold.firstError ?? run.firstError;
  return {
    id: system.id,
    logins: run.succeeded,
    failures: run.failures + cold.failures,
    seconds: run.seconds,
    cpuMsPerLogin: run.gatewayMs / Math.max(run.succeeded, 1),
    coldCpuMsPerLogin: cold.gatewayMs / Math.max(cold.succeeded, 1),
    warmUp,
    idpCpuMsPerLogin: run.idpMs / Math.max(run.succeeded, 1),
    loginsPerSecond: run.succeeded / run.seconds,
    ...(firstError ? { firstError } : {}),
  };
}
