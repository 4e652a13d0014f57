/**
 * The RFC 9470 answer to a caller that cannot be sent to the provider (an API client, a bearer token, a
 * WebSocket, forward-auth): 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"` and
 * what the route asks (acr_values, max_age). Never a 403: the user may pass once signed in more strongly.
 */
import type { FastifyReply } from 'fastify';
import type { StepUpRule } from '../policy/step-up.js';

/** Sends the step-up challenge of `rule` (its header value is built once per rule, policy/step-up.ts). */
export function sendStepUpChallenge(reply: FastifyReply, rule: StepUpRule): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', rule.challenge)
    .header('cache-control', 'no-store')
    .send({ error: 'insufficient_user_authentication' });
}
