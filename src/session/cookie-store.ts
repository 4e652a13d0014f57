/**
 * The default, stateless store: the whole session sealed into the session cookie, split into chunks
 * under 4 KB when it is larger (`name`, `name_1`, `name_2`, …) and joined back on the next request. A new
 * session larger than MAX_SESSION_CHUNKS is refused with a clear error instead of being written.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, GatewayError } from '../errors.js';
import type { CookieNames } from './cookie-names.js';
import { ExpiringMap } from './expiring-map.js';
import { OpenedCache } from './opened-cache.js';
import type { SealBox } from './seal.js';
import { parseSessionData } from './parse.js';
import type { Revocations } from './revocations.js';
import type {
  LoadedSession,
  ProviderSessionIndex,
  RefreshLock,
  ReplayGuard,
  SessionBackend,
  SessionControl,
  SessionData,
  SessionEndings,
  SessionStore,
} from './types.js';

/** Characters of sealed text per cookie; with name and attributes each Set-Cookie stays under 4096 bytes. */
export const CHUNK_SIZE = 3800;
/**
 * Chunks a new session may take. Three chunks are about 11.4 KB of Cookie header: what a browser sends back
 * on every request must fit the gateway's own 16 KB header limit (maxHeaderSize in app.ts) together with the
 * request line, the application's own cookies and the other headers, so a session is kept well under it.
 */
export const MAX_SESSION_CHUNKS = 3;
/** Chunks read at most; a larger cookie set is treated as signed out rather than parsed without bound. */
const MAX_CHUNKS = 16;
/** Opened sessions remembered (about 3 KB each) and for how long. */
const OPENED_CACHE_SIZE = 5_000;
const OPENED_CACHE_TTL_MS = 60_000;

/** Creates the cookie store. */
export function createCookieStore(options: {
  names: CookieNames;
  box: SealBox;
  maxAgeSeconds: number;
  revocations: Revocations;
  /** Where ended sessions are announced (in this process only: cookies are not shared state). */
  endings: SessionEndings;
}): SessionBackend {
  const { names, box, maxAgeSeconds, revocations, endings } = options;
  const attributes = { path: '/', httpOnly: true, sameSite: 'lax', secure: names.secure } as const;
  const claimed = new ExpiringMap<string, true>({ max: 100_000 });
  const opened = new OpenedCache<LoadedSession>({ max: OPENED_CACHE_SIZE, ttlMs: OPENED_CACHE_TTL_MS });
  // The text each session object was sealed to: a session is never changed once made (a change is a new
  // object), and access.ts hands every request with the same old cookie the same touched copy, so it is
  // sealed once however many requests carry that cookie before the client takes the new one.
  const sealedTexts = new WeakMap<SessionData, string>();
  const chunkName = (i: number) => (i === 0 ? names.session : `${names.session}_${i}`);

  function readSealed(cookies: ReadonlyMap<string, string>): string | undefined {
    const first = cookies.get(names.session);
    if (first === undefined) return undefined;
    let sealed = first;
    for (let i = 1; i < MAX_CHUNKS; i++) {
      const next = cookies.get(chunkName(i));
      if (next === undefined) break;
      sealed += next;
    }
    return sealed;
  }

  function clearFrom(request: FastifyRequest, reply: FastifyReply, from: number): void {
    for (let i = from; i < MAX_CHUNKS; i++) {
      if (request.authgate.cookies.has(chunkName(i))) reply.clearCookie(chunkName(i), attributes);
    }
  }

  const store: SessionStore & RefreshLock & ReplayGuard & ProviderSessionIndex = {
    async load(request: FastifyRequest): Promise<LoadedSession | null> {
      const sealed = readSealed(request.authgate.cookies);
      if (sealed === undefined) return null;
      const entry = opened.get(sealed) ?? openSession(sealed);
      // Revocation and (in the caller) the timeouts are judged on every request, cached or not.
      if (!entry || revocations.isRevoked(entry.session)) return null;
      return entry;
    },

    create(request, reply, session) {
      // Refused before any cookie is written: a session the browser cannot send back whole is no session,
      // and a partial chunk set would only sign the user out on the next request.
      if (Math.ceil(sealedText(session).length / CHUNK_SIZE) > MAX_SESSION_CHUNKS) {
        return Promise.reject(
          new GatewayError(
            ErrorCode.sessionTooLarge,
            400,
            'Your account belongs to too many groups to keep your sign-in in a browser cookie. ' +
              'An administrator can limit the groups the gateway keeps (oidc.groupsFilter) or use the Redis session store.',
          ),
        );
      }
      return write(request, reply, session);
    },
    save: write,

    destroy(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      // The cookie itself is not revoked (a copy taken earlier stays valid, docs/sessions.md), but what this
      // process holds open for it (WebSockets) closes. Usually opened already: the cache answers.
      const sealed = readSealed(request.authgate.cookies);
      const ended = sealed === undefined ? undefined : (opened.get(sealed) ?? openSession(sealed));
      if (ended) endings.publish({ ids: [ended.session.id] });
      reply.clearCookie(names.session, attributes);
      clearFrom(request, reply, 1);
      return Promise.resolve();
    },

    // Nothing is shared between replicas, so the lock is the caller's in-process single flight.
    withRefreshLock: (session, refresh) => refresh(session),

    endProviderSessions(logout) {
      revocations.add(logout);
      endings.publish({ logout });
      return Promise.resolve(0);
    },

    claimOnce(key, ttlMs) {
      if (claimed.has(key)) return Promise.resolve(false);
      claimed.set(key, true, ttlMs);
      return Promise.resolve(true);
    },

    start: () => Promise.resolve(),
    ping: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
  // Cookies live in browsers: nothing to list or read; an end is a revocation in this process only.
  const control: SessionControl = {
    canList: false,
    listUserSessions: () => Promise.resolve([]),
    readSession: () => Promise.resolve(undefined),
    isEnded: (session) => revocations.isRevoked(session),
    endSession(id) {
      revocations.addSession(id);
      endings.publish({ ids: [id] });
      return Promise.resolve(true);
    },
    endUserSessions(sub, at, only) {
      const logout = only ? { sub, at, provider: only.provider } : { sub, at, anyProvider: true };
      revocations.add(logout);
      endings.publish({ logout });
      return Promise.resolve(0);
    },
    endings,
  };
  return { store, refreshLock: store, replayGuard: store, providerSessions: store, control };

  /** Opens a sealed text (remembered when it opens); null when it does not. */
  function openSession(sealed: string): LoadedSession | null {
    const unsealed = box.open(sealed);
    const session = unsealed ? parseSessionData(unsealed.data) : null;
    if (!session) return null;
    const entry = { session, needsRewrite: unsealed?.staleKey === true };
    opened.set(sealed, entry);
    return entry;
  }

  function sealedText(session: SessionData): string {
    let sealed = sealedTexts.get(session);
    if (sealed === undefined) {
      sealed = box.seal(session);
      sealedTexts.set(session, sealed);
      // The next request brings this text back: it opens to this session, so it is not decrypted again.
      opened.set(sealed, { session, needsRewrite: false });
    }
    return sealed;
  }

  function write(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void> {
    const sealed = sealedText(session);
    const count = Math.ceil(sealed.length / CHUNK_SIZE);
    for (let i = 0; i < count; i++) {
      reply.setCookie(chunkName(i), sealed.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE), { ...attributes, maxAge: maxAgeSeconds });
    }
    clearFrom(request, reply, count);
    return Promise.resolve();
  }
}
