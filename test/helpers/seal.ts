/**
 * Seals documents exactly as a gateway with the given keys would (same key derivation, same box), so tests
 * can forge cookies: old timestamps, other keys, cross-purpose documents.
 */
import Fastify from 'fastify';
import { deriveKeys } from '../../src/session/keys.js';
import { createSealBoxes, type SealBox } from '../../src/session/seal.js';

/** The session and transaction boxes for a key list. */
export async function sealBoxesFor(keys: string[]): Promise<{ session: SealBox; transaction: SealBox }> {
  const app = Fastify();
  const boxes = await createSealBoxes(
    app,
    { session: deriveKeys(keys, 'session'), transaction: deriveKeys(keys, 'login-transaction') },
    { session: 86_400, transaction: 600 },
  );
  await app.close();
  return boxes;
}
