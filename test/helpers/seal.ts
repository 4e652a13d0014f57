/**
 * Seals documents exactly as a gateway with the given keys would (same key derivation, same box), so tests
 * can forge cookies and records: old timestamps, other keys, cross-purpose documents.
 */
import Fastify from 'fastify';
import { deriveKeys } from '../../src/session/keys.js';
import { createSealBoxes, type SealBox } from '../../src/session/seal.js';

/** The session, transaction and record boxes for a key list. */
export async function sealBoxesFor(keys: string[]): Promise<{ session: SealBox; transaction: SealBox; record: SealBox }> {
  const app = Fastify();
  const boxes = await createSealBoxes(
    app,
    { session: deriveKeys(keys, 'session'), transaction: deriveKeys(keys, 'login-transaction'), record: deriveKeys(keys, 'session-record') },
    { session: 86_400, transaction: 600 },
  );
  await app.close();
  return boxes;
}
