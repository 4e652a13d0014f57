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
  /** Gateway CPU (user + system) per login, ms. */
  cpuMsPerLogin: number;
  /** The provider's CPU per login, ms, for scale. */
  idpCpuMsPerLogin: number;
  loginsPerSecond: number;
  firstError?: string;
}

/**
 * Unmeasured logins first: a gateway's first logins pay for V8 compiling its login path (on helper threads as
 * well), which is start-up cost, not the cost of a login. 5 warm-up logins measured about 50% above the
 * steady state here; 50 are within a few percent of it.
 */
export const WARM_UP_LOGINS = 50;

/** Signs in `count` times through `system`, `concurrency` at once, and reports the gateway's CPU per login. */
export async function measureLoginCost(system: RunningSystem, idp: BenchProcess, count: number, concurrency: number, warmUp = WARM_UP_LOGINS): Promise<LoginCost> {
  for (let i = 0; i < warmUp; i += 1) await signIn(`${system.url}/`);
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
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const succeeded = count - failures;
  return {
    id: system.id,
    logins: succeeded,
    failures,
    seconds,
    cpuMsPerLogin: (cpuMs(system.proc.pid) - gatewayBefore) / Math.max(succeeded, 1),
    idpCpuMsPerLogin: (cpuMs(idp.pid) - idpBefore) / Math.max(succeeded, 1),
    loginsPerSecond: succeeded / seconds,
    ...(firstError ? { firstError } : {}),
  };
}
