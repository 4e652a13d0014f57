/**
 * Limits against slow requests: headers that never finish (slowloris) and bodies that stall get 408 or a
 * closed connection while other clients are served; many medium headers adding up to more than 16 KiB get
 * 431.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import { send, within } from './http-send.js';

/** What came back on a raw socket, and when it closed (ms after connecting; undefined if it stayed open). */
interface RawExchange {
  data: string;
  closedAfterMs: number | undefined;
}

/**
 * Opens a raw TCP connection, writes `initial`, then optionally one character of `drip` every `everyMs`;
 * resolves when the server closes the connection, or after `giveUpMs` (closedAfterMs undefined).
 */
function rawConnection(port: number, initial: string, opts: { drip?: string; everyMs?: number; giveUpMs?: number } = {}) {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let data = '';
  let closed = false;
  let dripIndex = 0;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  socket.on('error', () => undefined); // a reset after the server gave up is one of the expected outcomes
  socket.write(initial);
  const dripTimer = opts.drip
    ? setInterval(() => {
        if (!socket.writable) return;
        socket.write(opts.drip?.[dripIndex % (opts.drip.length || 1)] ?? 'a');
        dripIndex += 1;
      }, opts.everyMs ?? 300)
    : undefined;
  const done = new Promise<RawExchange>((resolve) => {
    const giveUp = setTimeout(() => {
      clearInterval(dripTimer);
      socket.destroy();
      resolve({ data, closedAfterMs: undefined });
    }, opts.giveUpMs ?? 6000);
    socket.on('close', () => {
      closed = true;
      clearInterval(dripTimer);
      clearTimeout(giveUp);
      resolve({ data, closedAfterMs: Date.now() - started });
    });
  });
  return { done, isClosed: () => closed };
}

/** Asserts the server gave up on a connection: closed in time, with nothing written or a 408. */
function assertTimedOut(exchange: RawExchange, limitMs: number, what: string): void {
  assert.ok(exchange.closedAfterMs !== undefined, `${what}: the connection was still open after the test gave up; got: ${JSON.stringify(exchange.data)}`);
  assert.ok(exchange.closedAfterMs <= limitMs, `${what}: closed only after ${exchange.closedAfterMs} ms (limit ${limitMs})`);
  if (exchange.data !== '') assert.match(exchange.data, /^HTTP\/1\.1 408 /, `${what}: unexpected answer ${JSON.stringify(exchange.data.slice(0, 200))}`);
}

describe('slow clients: header and request timeouts', () => {
  let stack: Stack;
  let cookie: string;
  before(async () => {
    stack = await startStack({
      configure: (c) => {
        c.server.headersTimeout = '1s';
        c.server.requestTimeout = '2s';
      },
    });
    const alice = await stack.signIn('alice');
    cookie = alice.jar.cookieHeader(`${stack.publicUrl}/upload`) ?? '';
  });
  after(() => stack.close());

  it('slowloris: headers dripping one byte every 300 ms get 408 / a closed connection within 2.5 s; others are served meanwhile', async () => {
    const attackers = Array.from({ length: 10 }, () =>
      rawConnection(stack.gateway.port, 'GET / HTTP/1.1\r\nHost: x\r\n', { drip: 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa', everyMs: 300 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const ping = await within(fetch(`${stack.gateway.url}/ping`), 1000, 'GET /ping during the attack');
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), 'OK');
    assert.ok(attackers.some((a) => !a.isClosed()), 'the attackers were cut before the normal request was answered; nothing shows concurrency');
    const results = await Promise.all(attackers.map((a) => a.done));
    results.forEach((exchange, i) => assertTimedOut(exchange, 2500, `slow connection ${i}`));
  });

  it('a stalled body (Content-Length 1000, 10 bytes sent) to a proxied route gets 408 / closed within 3.5 s', async () => {
    const head =
      `POST /upload HTTP/1.1\r\nHost: ${new URL(stack.publicUrl).host}\r\nCookie: ${cookie}\r\n` +
      'Accept: application/json\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n';
    const exchange = await rawConnection(stack.gateway.port, `${head}0123456789`).done;
    assertTimedOut(exchange, 3500, 'slow body to an upstream');
    const ping = await fetch(`${stack.gateway.url}/ping`);
    assert.equal(ping.status, 200);
  });

  it('a stalled body to the gateway’s own form route (POST /oauth2/sign_out) gets 408 / closed within 3.5 s', async () => {
    const head =
      'POST /oauth2/sign_out HTTP/1.1\r\nHost: x\r\n' + 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n';
    const exchange = await rawConnection(stack.gateway.port, `${head}rd=%2Fabcd`).done;
    assertTimedOut(exchange, 3500, 'slow body to /oauth2/sign_out');
  });

  it('many medium headers adding up to more than 16 KiB get 431; the same headers under 16 KiB pass', async () => {
    const headers = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-medium-${i}`, 'm'.repeat(500)]));
    const tooMany = send(stack.gateway.url, '/ping', { headers: headers(40) }); // ~20.6 KB, no single one large
    tooMany.req.end();
    assert.equal((await tooMany.answer).status, 431);
    const fine = send(stack.gateway.url, '/ping', { headers: headers(20) }); // ~10.3 KB
    fine.req.end();
    assert.equal((await fine.answer).status, 200);
  });
});
