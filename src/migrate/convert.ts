/**
 * One conversion: oauth2-proxy options in, the authgate tree and the lines for stderr out. The steps run
 * in an order where each finds what it needs (the issuer before bearer-token audiences, upstreams before
 * the public routes cut from them); whatever no step read is reported last.
 */
import { mapAccess } from './map-access.js';
import { mapPages } from './map-pages.js';
import { mapProvider } from './map-provider.js';
import { mapServer } from './map-server.js';
import { mapSession } from './map-session.js';
import { mapUpstreams } from './map-upstreams.js';
import { Migration } from './migration.js';
import { reportUnused } from './not-carried.js';
import type { ProxyOptions } from './read-sources.js';

/** Converts merged oauth2-proxy options into an authgate configuration tree with its report. */
export function convertOptions(options: ProxyOptions): Migration {
  const m = new Migration(options);
  for (const problem of options.problems) m.problem('input', problem);
  mapProvider(m);
  mapServer(m);
  mapSession(m);
  mapUpstreams(m);
  mapAccess(m);
  mapPages(m);
  reportUnused(m);
  return m;
}
