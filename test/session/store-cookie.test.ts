/**
 * The shared session-store suite against the default, stateless cookie store (the whole sealed session in
 * the cookie, a per-process revocation list for back-channel logouts).
 */
import { describeSessionStore } from './store-suite/index.js';

describeSessionStore('cookie', {
  shared: false,
  configure(tree) {
    tree.session.store = 'cookie';
  },
});
