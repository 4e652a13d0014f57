/**
 * GET /oauth2/signed_out: the landing after sign-out (the default post-logout redirect): "You are signed
 * out" and a link that signs in again. It reads no session and changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { sendPage } from '../http/replies.js';
import type { Pages } from '../pages/load-pages.js';
import { renderSignedOut } from '../pages/render.js';

/** Registers /oauth2/signed_out. */
export function registerSignedOut(app: FastifyInstance, pages: Pages): void {
  app.get('/oauth2/signed_out', async (request, reply) => sendPage(reply, 200, renderSignedOut(pages, { requestId: String(request.id) })));
}
