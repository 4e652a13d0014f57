/**
 * A clock for the gateway (`AppDependencies.now`) that tests move on instead of waiting for real time to
 * pass. It runs with real time plus an offset: the gateway's timeouts, touches and refresh back-off follow
 * it, while the provider and the tokens it issues keep real time.
 */

/** A gateway clock the test moves on. */
export interface TestClock {
  /** The gateway's time (ms since the epoch): real time plus what the test moved on. */
  readonly now: () => number;
  /** Moves the clock on by `ms`. */
  advance(ms: number): void;
  /** Moves the clock on to `at` (ms since the epoch); never back. */
  advanceTo(at: number): void;
  /**
   * Back to real time. A token obtained after the clock was moved on has its real lifetime ahead of it
   * again, as it would right after a refresh (the offset would otherwise make it due early).
   */
  reset(): void;
}

/** A clock at real time, to be moved on by the test. */
export function createTestClock(): TestClock {
  let offset = 0;
  const now = () => Date.now() + offset;
  return {
    now,
    advance(ms) {
      offset += ms;
    },
    advanceTo(at) {
      offset += Math.max(0, at - now());
    },
    reset() {
      offset = 0;
    },
  };
}
