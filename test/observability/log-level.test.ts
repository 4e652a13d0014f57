/**
 * The log level: `server.logLevel` (default info), overridden by LOG_LEVEL when that is set and not empty;
 * a LOG_LEVEL that is no level stops the command with one clear message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveLogLevel } from '../../src/observability/logger.js';
import { baseConfig, freePort, runCli, startGateway, writeConfigFile } from '../helpers/gateway.js';

describe('log level', () => {
  it('is server.logLevel unless LOG_LEVEL is set; LOG_LEVEL in any case, trimmed', () => {
    assert.equal(effectiveLogLevel('warn', undefined), 'warn');
    assert.equal(effectiveLogLevel('warn', ''), 'warn');
    assert.equal(effectiveLogLevel('warn', 'debug'), 'debug');
    assert.equal(effectiveLogLevel('info', ' ERROR '), 'error');
    assert.equal(effectiveLogLevel(undefined, undefined), 'info');
    assert.throws(() => effectiveLogLevel('info', 'verbose'), /LOG_LEVEL="verbose" is not a level: use one of trace, debug, info, warn, error, fatal, silent/);
  });

  it('server.logLevel: warn leaves out the request lines of a running gateway', async () => {
    const saved = process.env.LOG_LEVEL;
    delete process.env.LOG_LEVEL;
    try {
      for (const [level, expected] of [['warn', 0], ['info', 1]] as const) {
        const port = await freePort();
        const tree = baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: 'http://127.0.0.1:9/unreachable', upstreamUrl: 'http://127.0.0.1:9', listenPort: port });
        tree.server.logLevel = level;
        const gateway = await startGateway(tree, { port, waitForProvider: false });
        try {
          assert.equal((await fetch(`${gateway.url}/ping`)).status, 200);
          gateway.gateway.services.log.flush();
          assert.equal(gateway.logEntries().filter((e) => e.msg === 'request').length, expected, `at ${level}`);
        } finally {
          await gateway.close();
        }
      }
    } finally {
      if (saved !== undefined) process.env.LOG_LEVEL = saved;
    }
  });

  it('a LOG_LEVEL that is no level: exit 1 with a message naming the variable', async () => {
    const port = await freePort();
    const file = writeConfigFile(baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: 'http://127.0.0.1:9/unreachable', upstreamUrl: 'http://127.0.0.1:9', listenPort: port }));
    const proc = runCli(['--config', file], { LOG_LEVEL: 'loud' });
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr(), /^authgate: failed to start: LOG_LEVEL="loud" is not a level: use one of trace, debug/);
  });
});
