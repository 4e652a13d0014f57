/**
 * Seals documents exactly as a given gateway would (same key derivation, bound to the same issuer, client id
 * and publicUrl origin, same box), so tests can forge cookies and records: old timestamps, other keys,
 * cross-purpose documents.
 */
import Fastify from 'fastify';
import { deriveKeys, type GatewayBinding } from '../../src/session/keys.js';
import { createSealBoxes, type SealBox } from '../../src/session/seal.js';
import type { StartedGateway } from './gateway.js';

/** What names a gateway: its configuration (a parsed Config or a configuration tree), or a started stack. */
export type GatewayRef = { server: { publicUrl: string }; oidc: { issuer: string; clientId: string } } | { gateway: StartedGateway };

/** The binding a gateway derives its keys for. */
export function bindingOf(ref: GatewayRef): GatewayBinding {
  const config = 'gateway' in ref ? ref.gateway.gateway.services.config : ref;
  return { issuer: config.oidc.issuer, clientId: config.oidc.clientId, publicUrl: config.server.publicUrl };
}

/** The session, transaction and record boxes for a key list at one gateway. */
export async function sealBoxesFor(keys: string[], gateway: GatewayRef): Promise<{ session: SealBox; transaction: SealBox; record: SealBox }> {
  const binding = bindingOf(gateway);
  const app = Fastify();
  const boxes = await createSealBoxes(
    app,
    {
      session: deriveKeys(keys, 'session', binding),
      transaction: deriveKeys(keys, 'login-transaction', binding),
      record: deriveKeys(keys, 'session-record', binding),
    },
    { session: 86_400, transaction: 600 },
  );
  await app.close();
  return boxes;
}
