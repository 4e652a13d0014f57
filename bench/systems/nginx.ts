/**
 * The floor of floors: Debian's nginx with one worker process as a plain reverse proxy to the upstream, no
 * authentication, no access log. A foreground master and its one worker, with a generated config and its
 * temp directories in a directory of its own.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnProcess, type BenchProcess } from '../proc.js';

/** Where Debian installs nginx. */
const NGINX_BIN = '/usr/sbin/nginx';

/** True when Debian's nginx is installed. */
export function nginxAvailable(): boolean {
  return existsSync(NGINX_BIN);
}

/** How to start one nginx. */
export interface NginxOptions {
  name: string;
  port: number;
  upstreamUrl: string;
  /** A directory of its own is made in here for the config, pid file and temp directories. */
  workDir: string;
  cpus: string | undefined;
}

/** The whole nginx.conf. */
export function nginxConfig(options: NginxOptions, dir: string): string {
  const upstream = new URL(options.upstreamUrl).host;
  // As root, the worker would switch to "nobody", which cannot enter the bench's 0700 work directory.
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;

events {
  worker_connections 1024;
}

http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};

  # Upstream connections kept alive and reused, as the Node proxies and mod_proxy do.
  upstream app {
    server ${upstream};
    keepalive 64;
  }

  server {
    listen 127.0.0.1:${options.port};
    # Node keeps a client connection for any number of requests; nginx's default closes it after 1,000.
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** Writes the config and starts `nginx -p DIR -c FILE -e stderr` (master and worker, both on `cpus`). */
export function spawnNginx(options: NginxOptions): BenchProcess {
  const dir = join(options.workDir, options.name);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'nginx.conf');
  writeFileSync(configFile, nginxConfig(options, dir));
  return spawnProcess({ name: options.name, command: NGINX_BIN, args: ['-p', dir, '-c', configFile, '-e', 'stderr'], cpus: options.cpus });
}
