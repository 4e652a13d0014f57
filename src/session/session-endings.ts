/**
 * The in-process announcement of ended sessions (session/types.ts SessionEndings): a store publishes, the
 * WebSocket registry listens. The Redis store relays the same announcements between replicas
 * (redis-session-endings.ts).
 */
import type { SessionEnd, SessionEndings } from './types.js';

/** Creates an in-process SessionEndings; a listener that throws does not keep the others from hearing. */
export function createSessionEndings(onListenerError: (err: unknown) => void): SessionEndings {
  const listeners = new Set<(end: SessionEnd) => void>();
  return {
    publish(end) {
      for (const listener of listeners) {
        try {
          listener(end);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
