/**
 * Draining: from the shutdown signal (or app.close()) on, /ready answers 503 and every answer closes its
 * connection, so that keep-alive connections end with their last request instead of holding the exit.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Whether the gateway is draining. */
export interface DrainState {
  draining: boolean;
}

/**
 * Tracks the server's connections and returns fastify's preClose hook: it starts the drain and ends the
 * connections that never carried a request. Node's server.close() ends idle keep-alive connections but not
 * those (a client's spare connection), which would hold close() until their keep-alive timeout; connections
 * with a request in flight are left to finish it, and close after its answer.
 */
export function createDrainOnClose(server: Server, drain: DrainState): () => void {
  const connections = new Set<Socket>();
  // A named function with `this`: no closure per connection.
  function forget(this: Socket) {
    connections.delete(this);
  }
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', forget);
  });
  return function drainOnClose() {
    drain.draining = true;
    for (const socket of connections) if (socket.bytesRead === 0) socket.destroy();
  };
}
