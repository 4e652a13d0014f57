/**
 * The write-back step (onSend): acts on what loading the session decided (see session/access.ts): saves
 * it when it changed, or ends it (clears its cookies, deletes its record) when it timed out or its refresh
 * was refused, on this very answer. While draining, the answer also closes its connection.
 */
import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import type { SessionSockets } from '../session/session-sockets.js';
import type { SessionStore } from '../session/types.js';
import type { DrainState } from './drain.js';

/** Creates the onSend hook. */
export function createWriteBack(deps: { store: SessionStore; drain: DrainState; sessionSockets?: SessionSockets }): onSendHookHandler {
  const { store, drain, sessionSockets } = deps;
  return function writeBack(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void): void {
    // A keep-alive connection whose request was in flight would otherwise stay open after its answer
    // (idle connections are closed only when the drain starts), holding the exit until shutdownGrace cuts it.
    if (drain.draining) reply.header('connection', 'close');
    const state = request.authgate;
    if (!state || state.sessionWrite === 'none') return done(null, payload);
    writeSession(store, request, reply, sessionSockets).then(() => done(null, payload), done);
  };
}

/** Saves or destroys the request's session, once. */
async function writeSession(store: SessionStore, request: FastifyRequest, reply: FastifyReply, sockets: SessionSockets | undefined): Promise<void> {
  const state = request.authgate;
  const write = state.sessionWrite;
  state.sessionWrite = 'none';
  if (write === 'destroy') await store.destroy(request, reply);
  else if (state.session) {
    await store.save(request, reply, state.session.session);
    sockets?.touched(state.session.session); // its WebSockets' idle clock moves on with it
  }
}
