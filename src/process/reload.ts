/**
 * Config reload: on SIGHUP, or when the file changes. The file's directory is watched, not the file, so a
 * Kubernetes ConfigMap update (an atomic swap of the `..data` symlink) is seen too; the file is read again
 * and applied only when its text changed. An invalid file is logged and the running config stays.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Gateway } from '../app.js';
import { ConfigError, parseConfigText } from '../config/load.js';

/** How long after the last change event the file is read (editors and ConfigMaps write in steps). */
const SETTLE_MS = 200;

/** The watcher: reload on demand, stop watching. */
export interface ConfigWatcher {
  reloadNow(reason: string): void;
  close(): void;
}

/** Watches `file` and reloads `gateway` when its content changes. */
export function watchConfigFile(file: string, gateway: Pick<Gateway, 'reload'>, log: FastifyBaseLogger): ConfigWatcher {
  let applied = readText(file);
  let timer: NodeJS.Timeout | undefined;

  const reloadNow = (reason: string) => {
    const text = readText(file);
    if (text === undefined) {
      log.error({ file, reason }, 'configuration reload failed: cannot read the file; keeping the running configuration');
      return;
    }
    if (reason === 'file changed' && text === applied) return;
    try {
      gateway.reload(parseConfigText(text, file));
      applied = text;
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      log.error({ file, reason, problems }, 'configuration reload failed; keeping the running configuration');
    }
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), { persistent: false }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => reloadNow('file changed'), SETTLE_MS);
      timer.unref();
    });
    watcher.on('error', (err) => log.warn({ err, file }, 'stopped watching the configuration file; SIGHUP still reloads'));
  } catch (err) {
    log.warn({ err, file }, 'cannot watch the configuration file; SIGHUP still reloads');
  }

  return {
    reloadNow,
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
