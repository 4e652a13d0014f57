/**
 * Just enough RESP to drive a test redis-server over a raw socket: encode commands, parse the replies the
 * helpers use, and run a command with AUTH when the server has a password.
 */
import { createConnection } from 'node:net';

/** RESP array encoding, so a password with spaces or quotes needs no escaping. */
function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Parses complete RESP replies of the kinds the helper uses (simple strings, errors, integers, bulk strings). */
function parseReplies(buffer: string): string[] {
  const replies: string[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return replies;
    const line = buffer.slice(at, lineEnd);
    if (line.startsWith('$')) {
      const length = Number(line.slice(1));
      if (length < 0) {
        replies.push('');
        at = lineEnd + 2;
        continue;
      }
      // Redis' bulk length counts bytes; the helper only reads ASCII replies (PING, INFO, FLUSHALL).
      if (buffer.length < lineEnd + 2 + length + 2) return replies;
      replies.push(buffer.slice(lineEnd + 2, lineEnd + 2 + length));
      at = lineEnd + 2 + length + 2;
    } else {
      replies.push(line);
      at = lineEnd + 2;
    }
  }
}

/**
 * Sends commands and resolves with one reply per command (a simple reply's line, or a bulk string's text).
 * Kept to raw sockets so the helper never depends on a client library's reconnect behaviour.
 */
export function sendCommands(port: number, commands: string[][], timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`redis on port ${port} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const replies = parseReplies(buffer);
      if (replies.length >= commands.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(replies.slice(0, commands.length));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`redis on port ${port} closed the connection before answering`));
    });
  });
}

/** Prefixes AUTH when the server has a password. */
export function withAuth(password: string | undefined, commands: string[][]): string[][] {
  return password === undefined ? commands : [['AUTH', password], ...commands];
}

/** Runs one command (after AUTH when needed) and resolves with its reply; an error reply rejects. */
export async function runCommand(port: number, password: string | undefined, command: string[]): Promise<string> {
  const replies = await sendCommands(port, withAuth(password, [command]), 2_000);
  const failed = replies.find((line) => line.startsWith('-'));
  if (failed) throw new Error(`redis ${command[0]} failed: ${failed.slice(1)}`);
  return replies[replies.length - 1] ?? '';
}
