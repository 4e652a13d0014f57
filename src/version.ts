/**
 * The gateway's version: the one in the package.json beside dist/ (and src/), i.e. the one npm installed.
 * Read once; `--version`, the start-up log line and `authgate_build_info` all name it.
 */
import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The package version, or "unknown" when package.json has none. */
export function packageVersion(): string {
  if (version === undefined) {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    version = typeof manifest.version === 'string' ? manifest.version : 'unknown';
  }
  return version;
}
