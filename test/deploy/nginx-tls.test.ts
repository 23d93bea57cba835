import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, projectRoot } from '../helpers/process.ts'
import { hasTool, run } from './tools.ts'

// The TLS template (deploy/nginx/backplane-tls.conf.template) rendered the way the nginx image
// does (only its own variables replaced), with a certificate from deploy/nginx/make-dev-cert.sh,
// run by Debian's nginx in front of two loopback upstreams.
const ready = hasTool('nginx', ['-v']) && hasTool('openssl', ['version'])
const nginxDir = join(projectRoot, 'deploy', 'nginx')
const plainTemplate = join(nginxDir, 'backplane.conf.template')

/** renderTemplate replaces ${NAME} for the given names only, as the nginx image's envsubst filter does. */
function renderTemplate (text: string, values: Record<string, string>): string {
  return text.replace(/\$\{([A-Z_]+)\}/g, (all, name: string) => values[name] ?? all)
}

function proxyDirectives (text: string): string[] {
  // The proxy settings of the server that proxies (the last server block), one normalised line each.
  const server = text.slice(text.lastIndexOf('\nserver {'))
  return [...server.matchAll(/^\s*((?:proxy_|client_max_body_size)\S*\s[^;]*);/gm)].map((m) => m[1]!.replace(/\s+/g, ' ')).sort()
}

describe.skipIf(!ready)('nginx TLS template with a development certificate', () => {
  let dir = ''
  let nginx: ChildProcess | undefined
  let nginxLog = ''
  const upstreams: Server[] = []
  const seen: Array<{ node: number, method: string, headers: Record<string, string | string[] | undefined> }> = []
  const everySeen: typeof seen = []
  let httpPort = 0
  let httpsPort = 0

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'backplane-nginx-tls-'))
    const cert = run('sh', [join(nginxDir, 'make-dev-cert.sh'), join(dir, 'certs'), 'localhost'])
    expect(cert.status, cert.output).toBe(0)
    // Node 1 answers 503 to GETs as a draining node does; node 2 answers 200.
    const ports: number[] = []
    for (const node of [1, 2]) {
      const server = createServer((req, res) => {
        seen.push({ node, method: req.method ?? '', headers: req.headers })
        everySeen.push({ node, method: req.method ?? '', headers: req.headers })
        req.resume()
        req.on('end', () => {
          res.writeHead(node === 1 ? 503 : 200, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ node }))
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      upstreams.push(server)
      ports.push((server.address() as { port: number }).port)
    }
    httpPort = await freePort()
    httpsPort = await freePort()
    const rendered = renderTemplate(readFileSync(join(nginxDir, 'backplane-tls.conf.template'), 'utf8'), {
      NGINX_LISTEN: `127.0.0.1:${httpPort}`,
      NGINX_TLS_LISTEN: `127.0.0.1:${httpsPort}`,
      NGINX_TLS_CERTIFICATE: join(dir, 'certs', 'tls.crt'),
      NGINX_TLS_CERTIFICATE_KEY: join(dir, 'certs', 'tls.key'),
      NGINX_HTTPS_PUBLIC_PORT: '8443',
      BACKPLANE_UPSTREAM_SERVERS: ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join(' '),
      BODY_LIMIT_BYTES: '1024'
    })
    expect(rendered).not.toMatch(/\$\{[A-Z_]+\}/)
    await mkdir(join(dir, 'temp'))
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${join(dir, 'temp', k)};`).join('\n')
    await writeFile(join(dir, 'nginx.conf'), `pid ${join(dir, 'nginx.pid')};\nerror_log stderr;\nworker_processes 1;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${rendered}\n}\n`)
    const test = run('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')])
    expect(test.status, test.output).toBe(0)
    nginx = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
    nginx.stderr!.on('data', (d: Buffer) => { nginxLog += d.toString() })
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://127.0.0.1:${httpPort}/`, { redirect: 'manual' }).then(() => true, () => false)
      if (up) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }, 60_000)

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM')
      await new Promise((resolve) => nginx!.once('exit', resolve))
    }
    for (const server of upstreams) server.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  function https (method: string, path: string, body?: string) {
    return new Promise<{ status: number, text: string }>((resolve, reject) => {
      const ca = readFileSync(join(dir, 'certs', 'tls.crt'))
      const req = request({ host: '127.0.0.1', servername: 'localhost', port: httpsPort, method, path, ca, headers: { host: 'localhost', 'x-forwarded-for': '6.6.6.6' } }, (res) => {
        let text = ''
        res.on('data', (d: Buffer) => { text += d.toString() })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  it('redirects plain HTTP to HTTPS (308 keeps the method and body)', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest({ host: '127.0.0.1', port: httpPort, path: '/api/v1/instance?x=1', headers: { host: 'localhost' } }, resolve).on('error', reject).end()
    })
    res.resume()
    expect(res.statusCode).toBe(308)
    expect(res.headers.location).toBe('https://localhost:8443/api/v1/instance?x=1')
  })

  it('serves the development certificate (verified against itself) and passes X-Forwarded-Proto https', async () => {
    seen.length = 0
    const res = await https('GET', '/health/live')
    expect(res.status, nginxLog).toBe(200)
    const reached = seen.find((s) => s.node === 2)!
    expect(reached.headers['x-forwarded-proto']).toBe('https')
    expect(reached.headers['x-forwarded-host']).toBe('localhost')
    // The client's own X-Forwarded-For is kept and nginx appends the peer it saw: Backplane trusts only nginx's hop.
    expect(reached.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1')
  })

  it('retries an idempotent request on the next node when one answers 503, never a POST', async () => {
    seen.length = 0
    for (let i = 0; i < 4; i++) expect((await https('GET', '/api/v1/instance')).status).toBe(200)
    // Node 1 answered 503 to some GET of this file (then sat out fail_timeout), and no client saw it.
    expect(everySeen.some((s) => s.node === 1 && s.method === 'GET')).toBe(true)
    seen.length = 0
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await https('POST', '/api/v1/tasks', '{}')).status)
    // Each POST reached exactly one node: never re-sent after a 503.
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(4)
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true)
  })

  it('refuses a body above BODY_LIMIT_BYTES with 413 before any node sees it', async () => {
    seen.length = 0
    const res = await https('POST', '/api/v1/tasks', 'x'.repeat(4096))
    expect(res.status).toBe(413)
    expect(seen).toHaveLength(0)
  })

  it.skipIf(!existsSync(plainTemplate))('keeps the same proxy settings as the plain template (deploy/nginx/backplane.conf.template)', () => {
    const plain = proxyDirectives(readFileSync(plainTemplate, 'utf8'))
    const tls = proxyDirectives(readFileSync(join(nginxDir, 'backplane-tls.conf.template'), 'utf8'))
    expect(tls).toEqual(plain)
  })
})
