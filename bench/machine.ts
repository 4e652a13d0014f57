/** The machine and software a run measured on, for the report's header. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './proc.js';

/** The machine and software the numbers come from. */
export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  kernel: string;
  node: string;
  date: string;
  commit: string;
  /** The 1, 5 and 15 minute load averages when the run started. */
  loadAverage: string;
  versions: Record<string, string>;
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The C peers' versions, from their binaries and Debian's package database; absent when not installed. */
function peerVersions(): Record<string, string> {
  const apache = /Apache\/(\S+)/.exec(run('/usr/sbin/apache2', ['-v']))?.[1];
  const openidc = run('dpkg-query', ['-W', '-f', '${Version}', 'libapache2-mod-auth-openidc']);
  // nginx -v writes its version to stderr (spawnSync reports a missing binary instead of throwing).
  const nginx = /nginx\/(\S+)/.exec(spawnSync('/usr/sbin/nginx', ['-v'], { encoding: 'utf8' }).stderr ?? '')?.[1];
  return {
    ...(nginx ? { nginx } : {}),
    ...(apache ? { 'Apache httpd': apache } : {}),
    ...(apache && openidc ? { mod_auth_openidc: openidc } : {}),
  };
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Reads the CPU model, cores, memory, Node, commit and the versions of everything measured. */
export function machineInfo(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const commit = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--', 'src']) !== '';
  const redis = /v=(\S+)/.exec(run('redis-server', ['--version']))?.[1];
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit: commit ? `${commit}${dirty ? ' (src/ with uncommitted changes)' : ''}` : 'unknown',
    loadAverage: loadavg().map((n) => n.toFixed(2)).join(' '),
    versions: {
      fastify: packageVersion('fastify'),
      '@fastify/http-proxy': packageVersion('@fastify/http-proxy'),
      express: packageVersion('express'),
      'express-openid-connect': packageVersion('express-openid-connect'),
      'http-proxy-middleware': packageVersion('http-proxy-middleware'),
      'oidc-provider': packageVersion('oidc-provider'),
      autocannon: packageVersion('autocannon'),
      ...(redis ? { 'redis-server': redis } : {}),
      ...peerVersions(),
    },
  };
}
