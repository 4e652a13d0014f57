/**
 * Authenticated encryption of small JSON documents with @fastify/secure-session (libsodium secretbox,
 * a list of keys: the first encrypts, every one decrypts). The plugin is registered in a scope of its own
 * that holds no routes, so its automatic per-request cookie hooks never run: the gateway decides which
 * cookies to read and write (chunked sessions, one cookie per login transaction) and only borrows the box.
 */
import fastifySecureSession from '@fastify/secure-session';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

/** Seals and opens JSON documents under one key list. */
export interface SealBox {
  /** Encrypts `data`; the result is cookie-safe (base64url and "."). */
  seal(data: object): string;
  /** Decrypts a sealed text; null when it is malformed, tampered with, under an unknown key, or older than `maxAgeSeconds`. */
  open(text: string): { data: Record<string, unknown>; staleKey: boolean } | null;
}

interface Boxes {
  session: SealBox;
  transaction: SealBox;
  /** Session records kept outside the cookie (Redis). */
  record: SealBox;
}

type Decode = (cookie: string, log: unknown, name: string) => { data(): Record<string, unknown>; changed: boolean } | null;
type Encode = (session: unknown, name: string) => string;
type Create = (data: object) => unknown;

/** Registers secure-session in a route-less scope and returns one box per purpose. */
export async function createSealBoxes(
  app: FastifyInstance,
  keys: { session: Buffer[]; transaction: Buffer[]; record: Buffer[] },
  maxAgeSeconds: { session: number; transaction: number },
): Promise<Boxes> {
  let encode!: Encode;
  let decode!: Decode;
  let create!: Create;
  await app.register(async (scope) => {
    await scope.register(fastifySecureSession, [
      { sessionName: 'authgateSession', cookieName: 'authgate-unused-s', key: keys.session, expiry: maxAgeSeconds.session },
      { sessionName: 'authgateTx', cookieName: 'authgate-unused-t', key: keys.transaction, expiry: maxAgeSeconds.transaction },
      { sessionName: 'authgateRecord', cookieName: 'authgate-unused-r', key: keys.record, expiry: maxAgeSeconds.session },
    ]);
    const decorated = scope as unknown as { encodeSecureSession: Encode; decodeSecureSession: Decode; createSecureSession: Create };
    encode = decorated.encodeSecureSession;
    decode = decorated.decodeSecureSession;
    create = decorated.createSecureSession;
  });
  const silent = { trace() {}, debug() {} };
  const box = (name: string): SealBox => ({
    seal: (data) => toCookieSafe(encode(create(compress(data)), name)),
    open: (text) => {
      const sealed = fromCookieSafe(text);
      if (sealed === null) return null;
      try {
        const opened = decode(sealed, silent, name);
        return opened ? { data: decompress(opened.data()), staleKey: opened.changed } : null;
      } catch {
        return null; // authentic but unreadable cannot come from our own writer; treat as signed out anyway
      }
    },
  });
  const boxes = { session: box('authgateSession'), transaction: box('authgateTx'), record: box('authgateRecord') };
  // One seal and open each at start-up: the first logins then find this code compiled, not the start-up.
  for (const warm of Object.values(boxes)) warm.open(warm.seal({ warm: true }));
  return boxes;
}

/**
 * Documents larger than this are deflated before sealing. Below it deflating does not pay: random tokens
 * barely compress and the deflated bytes travel as base64, so the cookie came out larger (BENCHMARKS.md).
 */
const COMPRESS_ABOVE = 2048;
/**
 * A 4 KB window and a small hash table: sessions are a few KB, so they compress as well as with zlib's
 * defaults (32 KB window, memLevel 8), while each call sets up about 30 KB of state instead of about 260 KB,
 * which a login paid for in fresh memory. Inflating keeps zlib's default window and so reads either.
 */
const DEFLATE_OPTIONS = { windowBits: 12, memLevel: 5 } as const;
/** The most a sealed document may inflate to. */
const MAX_INFLATED = 1024 * 1024;

/**
 * Deflates large documents (a session with many groups and a JWT ID token shrinks about six times), so
 * cookie sessions stay within request header limits. Safe from compression-oracle attacks: a document
 * holds one user's own data only, never an attacker's input next to someone else's secret.
 */
function compress(data: object): object {
  const json = JSON.stringify(data);
  if (json.length <= COMPRESS_ABOVE) return { ...data };
  const z = deflateRawSync(json, DEFLATE_OPTIONS).toString('base64');
  // Incompressible (random group names, say): the plain document seals shorter and opens without inflating.
  return z.length < json.length ? { z } : { ...data };
}

function decompress(data: Record<string, unknown>): Record<string, unknown> {
  if (typeof data.z !== 'string' || Object.keys(data).length !== 1) return data;
  return JSON.parse(inflateRawSync(Buffer.from(data.z, 'base64'), { maxOutputLength: MAX_INFLATED }).toString('utf8')) as Record<string, unknown>;
}

/** secure-session writes "base64;base64"; cookies carry "base64url.base64url" (no percent-encoding needed). */
function toCookieSafe(sealed: string): string {
  const [cipher = '', nonce = ''] = sealed.split(';');
  return `${Buffer.from(cipher, 'base64').toString('base64url')}.${Buffer.from(nonce, 'base64').toString('base64url')}`;
}

function fromCookieSafe(text: string): string | null {
  const dot = text.indexOf('.');
  if (dot <= 0 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(text)) return null;
  const cipher = Buffer.from(text.slice(0, dot), 'base64url').toString('base64');
  const nonce = Buffer.from(text.slice(dot + 1), 'base64url').toString('base64');
  return `${cipher};${nonce}`;
}
