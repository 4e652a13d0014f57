/**
 * Which peers' X-Forwarded-* headers are believed: only those in `server.trustedProxies` (addresses and CIDRs).
 * One matcher, compiled once at start-up with fastify's own @fastify/proxy-addr, answers for fastify's
 * `trustProxy` (request.ip/ips/host/protocol) and for forward-auth alike: two implementations could disagree
 * (IPv4-mapped IPv6 peers, zone ids, /0), and fastify would then believe a peer forward-auth refuses, or
 * the reverse.
 */
import { compile } from '@fastify/proxy-addr';

/**
 * Whether a peer address is a trusted proxy. The hop (0 = the socket peer, 1 = the rightmost
 * X-Forwarded-For entry, …) is what fastify passes; the answer does not depend on it: an address is trusted
 * at any hop or at none, so the client address is the rightmost untrusted one.
 */
export type TrustedProxyMatcher = (address: string | undefined, hop?: number) => boolean;

/** Compiles `server.trustedProxies` into the one matcher; throws naming the list when an entry cannot be used. */
export function compileTrustedProxies(cidrs: readonly string[]): TrustedProxyMatcher {
  if (cidrs.length === 0) return () => false;
  let trust: (address: string, hop: number) => boolean;
  try {
    trust = compile([...cidrs]);
  } catch (err) {
    // The schema admits what proxy-addr refuses (a /0 prefix, a zone id it cannot parse): fail at start-up,
    // as fastify did when it compiled the list itself, but say which setting is wrong.
    throw new Error(`server.trustedProxies: ${(err as Error).message} (give addresses or CIDRs with a prefix from 1 to 32, or 1 to 128 for IPv6)`, {
      cause: err,
    });
  }
  // A destroyed socket has no remote address: never trusted.
  return (address, hop = 0) => address !== undefined && trust(address, hop);
}
