/**
 * The open connections that live on a session (proxied WebSockets), by session id, so that they close
 * when their session ends: an announced end (session-endings.ts: sign-out, back-channel logout, admin
 * revocation, a refused refresh; from other replicas too with Redis), or a timeout, found by a sweep every
 * SWEEP_MS. A session that looks timed out is read again from the store where it can be (Redis: another
 * replica may have seen the user since); the cookie store's sessions are judged by the newest copy this
 * process wrote (write-back tells it through `touched`).
 */
import type { Logger } from 'pino';
import { isSessionExpired, type Lifetime } from './lifetime.js';
import type { SessionControl, SessionData, SessionEnd } from './types.js';

/** How often open sockets' sessions are checked against their timeouts. */
const SWEEP_MS = 1_000;
/** The close code and reason a socket whose session ended gets (1008: policy violation, RFC 6455). */
export const SESSION_ENDED_CLOSE = { code: 1008, reason: 'session ended' } as const;

/** The little of a WebSocket the registry uses. */
export interface SessionSocket {
  close(code: number, reason: string): void;
  once(event: 'close', listener: () => void): unknown;
}

/** The registry of sockets by session. */
export interface SessionSockets {
  /** Keeps `socket` until it closes, or closes it when `session` ends. */
  add(session: SessionData, socket: SessionSocket): void;
  /** A newer copy of a session was written (idle clock moved on): timeouts are judged by it. */
  touched(session: SessionData): void;
  /** How many sockets are open. */
  readonly size: number;
  /** Stops listening and sweeping (the sockets close with their server). */
  close(): void;
}

interface Entry {
  session: SessionData;
  sockets: Set<SessionSocket>;
  rechecking: boolean;
}

/** Creates the registry; it listens to `control.endings` from now on. */
export function createSessionSockets(deps: { control: SessionControl; lifetime: Lifetime; now: () => number; log: Logger }): SessionSockets {
  const { control, lifetime, now, log } = deps;
  const entries = new Map<string, Entry>();
  let count = 0;
  let timer: NodeJS.Timeout | undefined;

  function closeSession(id: string, why: string): void {
    const entry = entries.get(id);
    if (!entry) return;
    entries.delete(id);
    const sockets = [...entry.sockets];
    entry.sockets.clear(); // their 'close' events, later, find nothing left to count
    count -= sockets.length;
    for (const socket of sockets) socket.close(SESSION_ENDED_CLOSE.code, SESSION_ENDED_CLOSE.reason);
    log.info({ sockets: sockets.length, why }, 'websockets closed: their session ended');
    if (entries.size === 0) stopSweep();
  }

  function onEnd(end: SessionEnd): void {
    if (entries.size === 0) return;
    if ('ids' in end) {
      for (const id of end.ids) closeSession(id, 'ended');
      return;
    }
    if ('recheck' in end) {
      for (const [id, entry] of entries) recheck(id, entry);
      return;
    }
    const { sid, sub, at, provider, anyProvider } = end.logout;
    for (const [id, { session }] of entries) {
      // A provider's logout names its own sessions only (session/revocations.ts); an admin's, every provider's.
      if (anyProvider !== true && session.provider !== provider) continue;
      if ((sid !== undefined && session.providerSid === sid) || (sid === undefined && sub !== undefined && session.identity.sub === sub && session.createdAt <= at)) {
        closeSession(id, 'revoked');
      }
    }
  }
  const unsubscribe = control.endings.subscribe(onEnd);

  function sweep(): void {
    const at = now();
    for (const [id, entry] of entries) {
      if (!isSessionExpired(entry.session, lifetime, at)) continue;
      if (control.canList) recheck(id, entry);
      else closeSession(id, 'timeout');
    }
  }
  /** Reads the session again from the store: closed when it is gone or past its timeouts. */
  function recheck(id: string, entry: Entry): void {
    if (entry.rechecking || !control.canList) return;
    entry.rechecking = true;
    control.readSession(id).then(
      (stored) => {
        entry.rechecking = false;
        if (!stored || isSessionExpired(stored, lifetime, now())) closeSession(id, stored ? 'timeout' : 'ended');
        else entry.session = stored;
      },
      () => {
        entry.rechecking = false; // the store is down: judged again at the next sweep
      },
    );
  }
  function stopSweep(): void {
    clearInterval(timer);
    timer = undefined;
  }

  return {
    add(session, socket) {
      let entry = entries.get(session.id);
      if (!entry) {
        entry = { session, sockets: new Set(), rechecking: false };
        entries.set(session.id, entry);
      }
      entry.sockets.add(socket);
      count += 1;
      const held = entry;
      socket.once('close', () => {
        if (!held.sockets.delete(socket)) return;
        count -= 1;
        if (held.sockets.size === 0 && entries.get(session.id) === held) entries.delete(session.id);
        if (entries.size === 0) stopSweep();
      });
      if (!timer) {
        timer = setInterval(sweep, SWEEP_MS);
        timer.unref();
      }
      // The session may have ended while the upstream's side connected (after the guard read it): its end
      // was announced before the socket was here to hear it. The cookie store remembers revocations; Redis
      // is read again.
      if (control.isEnded(session)) closeSession(session.id, 'revoked');
      else recheck(session.id, held);
    },
    touched(session) {
      if (entries.size === 0) return;
      const entry = entries.get(session.id);
      if (entry && session.lastSeenAt > entry.session.lastSeenAt) entry.session = session;
    },
    get size() {
      return count;
    },
    close() {
      unsubscribe();
      stopSweep();
    },
  };
}
