/**
 * Who can sign in at each of the demo's identity providers (any password is accepted): Staff keeps the
 * tests' well-known alice and bob, Partners has its own people, so no subject exists at both.
 */
import { demoUsers, type IdpUser } from '../test/helpers/idp.js';

/** Partners' users: people of another company, with their own email domain and no staff groups. */
export const partnerUsers: IdpUser[] = [
  { sub: 'pat', email: 'pat@partner.example', emailVerified: true, preferredUsername: 'pat', name: 'Pat Partner', groups: ['partners'] },
];

/** The users of each provider in config/demo.yaml, by provider id. */
export const demoUsersByProvider: Readonly<Record<string, IdpUser[]>> = {
  staff: demoUsers,
  partners: partnerUsers,
};
