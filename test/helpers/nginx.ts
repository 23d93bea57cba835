import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from './process.ts'

/** nginxBinary is Debian's nginx, or undefined when it is not installed (`.ci/run` installs it). */
export const nginxBinary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p))

/** TemplateValues are the variables of deploy/nginx/backplane.conf.template (CONTRACTS.md). */
export interface TemplateValues { NGINX_LISTEN: string, BACKPLANE_UPSTREAM_SERVERS: string, BODY_LIMIT_BYTES: string }

/**
 * renderTemplate replaces only the template's own `${NAME}` variables, as the nginx image's
 * envsubst does with NGINX_ENVSUBST_FILTER: nginx's `$variables` stay untouched.
 */
export function renderTemplate (values: TemplateValues, file = join(projectRoot, 'deploy/nginx/backplane.conf.template')): string {
  const text = readFileSync(file, 'utf8')
  return text.replace(/\$\{(NGINX_LISTEN|BACKPLANE_UPSTREAM_SERVERS|BODY_LIMIT_BYTES)\}/g, (_m, name: keyof TemplateValues) => values[name])
}

/** PrivateNginx is an nginx master process a test owns: its own prefix, config, pid and temp paths. */
export interface PrivateNginx {
  child: ChildProcess
  url: string
  dir: string
  stop: () => Promise<void>
  errors: () => string
}

/**
 * startNginx runs the rendered template as a private nginx (not the system service), in the
 * foreground under the test, and resolves once it answers. `extraHttp` goes into the test's own
 * http{} block around the template (e.g. a header naming the upstream that answered).
 */
export async function startNginx (dir: string, port: number, upstreams: number[], extraHttp = ''): Promise<PrivateNginx> {
  if (!nginxBinary) throw new Error('nginx is not installed (apt-get install -y nginx)')
  mkdirSync(join(dir, 'temp'), { recursive: true, mode: 0o777 })
  const writeSite = (servers: number[]) => {
    writeFileSync(join(dir, 'backplane.conf'), renderTemplate({
      NGINX_LISTEN: `127.0.0.1:${port}`,
      BACKPLANE_UPSTREAM_SERVERS: servers.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`).join(' '),
      BODY_LIMIT_BYTES: '1048576'
    }))
  }
  writeSite(upstreams)
  const temp = (name: string) => `${name}_temp_path ${join(dir, 'temp', name)};`
  writeFileSync(join(dir, 'nginx.conf'), [
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
    `  ${extraHttp}`,
    `  include ${join(dir, 'backplane.conf')};`,
    '}'
  ].join('\n'))
  const child = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const url = `http://127.0.0.1:${port}`
  const errors = () => { try { return readFileSync(join(dir, 'error.log'), 'utf8') } catch { return out } }
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${out}\n${errors()}`)
    if (await fetch(`${url}/health/live`).then((r) => r.status === 200, () => false)) {
      return { child, url, dir, errors, stop: async () => { if (child.exitCode === null) { child.kill('SIGQUIT'); await exited } } }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`nginx did not answer within 10 s: ${out}\n${errors()}`)
}
