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

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that the kernel does not hand out by itself. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${highest} after ${ATTEMPTS} tries`);
}
