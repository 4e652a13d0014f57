/**
 * Ports for servers a test must name before they start (a gateway whose public URL is in its config,
 * a redis-server, nginx). They come from below the kernel's ephemeral range: a port from listen(0) is
 * one the kernel hands out again, to the next listen(0) or outgoing connection of any process, so it
 * could be taken between the check and the real bind (CI once saw EADDRINUSE that way).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 20_000;
const FALLBACK_EPHEMERAL_START = 32_768;
const ATTEMPTS = 50;

/** The first port of the kernel's ephemeral range (Linux), or the IANA default elsewhere. */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : FALLBACK_EPHEMERAL_START;
  } catch {
    return FALLBACK_EPHEMERAL_START;
  }
}

const highest = ephemeralStart() - 1;

/**
 * Ports this process has handed out. A port is only bound later by its server, so two calls could
 * otherwise pick the same one (CI once ran nginx on the gateway's port: nginx could not bind, and its
 * requests reached the gateway instead).
 */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that the kernel does not hand out by itself. */
export function freePort(): Promise<number> {
  return freePortWith(0);
}

/** How far above its port a Redis Cluster node binds its cluster bus. */
export const REDIS_CLUSTER_BUS_OFFSET = 10_000;

/**
 * A port for a Redis Cluster node: it and its cluster bus port (port + 10,000) both free and both below the
 * ephemeral range. With a port from freePort the bus port could land in that range, where an outgoing
 * connection may hold it, and the node then fails to start (CI saw a cluster node never answer).
 */
export function freeClusterNodePort(): Promise<number> {
  return freePortWith(REDIS_CLUSTER_BUS_OFFSET);
}

/** A free port whose companion `offset` above it is free too (offset 0: just the port). */
async function freePortWith(offset: number): Promise<number> {
  const top = highest - offset;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (top - LOWEST + 1));
    if (handedOut.has(port) || handedOut.has(port + offset)) continue;
    // Marked before the checks, so calls running at the same time never settle on one port.
    handedOut.add(port).add(port + offset);
    if ((await canListen(port)) && (offset === 0 || (await canListen(port + offset)))) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${top} (with port + ${offset} free) after ${ATTEMPTS} tries`);
}
