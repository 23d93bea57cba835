import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../../../test/helpers/app.ts'
import { consolePolicy } from './console.ts'

// A tiny build in the shape Vite writes (index.html + hashed assets/), so these tests never depend on the dashboard build.
const INDEX = '<!doctype html><html><head><script type="module" src="/admin/assets/index-AbC123.js"></script></head><body><div id="root"></div></body></html>'
const SCRIPT = `export const greeting = ${JSON.stringify('console '.repeat(400))}\n`

function fixtureDist (): string {
  const dir = mkdtempSync(join(tmpdir(), 'bp-console-'))
  mkdirSync(join(dir, 'assets'))
  writeFileSync(join(dir, 'index.html'), INDEX)
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), SCRIPT)
  writeFileSync(join(dir, 'assets', 'style-Def456.css'), 'body{margin:0}\n'.repeat(200))
  writeFileSync(join(dir, 'assets', 'style-Def456.css.br'), brotliCompressSync('body{margin:0}\n'.repeat(200)))
  writeFileSync(join(dir, 'assets', '.secret'), 'not for you')
  return dir
}

describe('admin console at /admin (built)', () => {
  let t: TestApp
  let dir: string
  beforeAll(async () => {
    dir = fixtureDist()
    t = await createTestApp({ env: { ADMIN_CONSOLE_DIR: dir } })
  })
  afterAll(async () => {
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('HD-01: the page carries a strict CSP (no inline script or style, no outside origin), nosniff and no-referrer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin', headers: { host: 'console.example:8080' } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/html/)
    expect(res.body).toBe(INDEX)
    const csp = String(res.headers['content-security-policy'])
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
      expect(csp).toContain(directive)
    }
    expect(csp).toContain("connect-src 'self' ws://console.example:8080 wss://console.example:8080")
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['referrer-policy']).toBe('no-referrer')
    expect(res.headers['cache-control']).toBe('no-cache')
  })

  it('a host header that is not a host stays out of the policy', () => {
    expect(consolePolicy("evil; script-src 'unsafe-inline'")).toMatch(/connect-src 'self'$/)
    expect(consolePolicy(undefined)).toMatch(/connect-src 'self'$/)
    expect(consolePolicy('[::1]:8080')).toContain('ws://[::1]:8080')
  })

  it('SPA fallback: every console route answers the page, with the same policy', async () => {
    for (const url of ['/admin/', '/admin/users', '/admin/executions/0190c3b4-2c1e-7000-8000-000000000001?tab=log']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(200)
      expect(res.body).toBe(INDEX)
      expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    }
  })

  it('the fallback is for /admin/ routes only: a missing asset or file is a problem+json 404, not the page', async () => {
    for (const url of ['/admin/assets/missing.js', '/admin/assets/.secret', '/admin/missing.png', '/administrator']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(404)
      expect(res.headers['content-type'], url).toMatch(/problem\+json/)
    }
  })

  it('hashed assets are immutable for a year and compressed (br on the fly, gzip, or the .br file beside them)', async () => {
    const br = await t.app.inject({ method: 'GET', url: '/admin/assets/index-AbC123.js', headers: { 'accept-encoding': 'br' } })
    expect(br.statusCode).toBe(200)
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(br.headers['content-type']).toMatch(/javascript/)
    expect(br.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(SCRIPT)

    const gz = await t.app.inject({ method: 'GET', url: '/admin/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip' } })
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gz.rawPayload).toString()).toBe(SCRIPT)

    const pre = await t.app.inject({ method: 'GET', url: '/admin/assets/style-Def456.css', headers: { 'accept-encoding': 'br, gzip' } })
    expect(pre.headers['content-encoding']).toBe('br')
    expect(pre.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(pre.headers.vary).toMatch(/accept-encoding/i)
    expect(brotliDecompressSync(pre.rawPayload).toString()).toBe('body{margin:0}\n'.repeat(200))

    const plain = await t.app.inject({ method: 'GET', url: '/admin/assets/index-AbC123.js' })
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body).toBe(SCRIPT)
  })

  it('top-level files of the build are served with a short cache', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/admin/favicon.svg' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/svg/)
    expect(res.headers['cache-control']).toBe('public, max-age=3600')
  })

  it('/ leads to the console', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/' })
    expect(res.statusCode).toBe(302)
    expect(res.headers.location).toBe('/admin/')
  })
})

describe('admin console at /admin (not built)', () => {
  let t: TestApp
  let dir: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bp-console-empty-'))
    t = await createTestApp({ env: { ADMIN_CONSOLE_DIR: dir } })
  })
  afterAll(async () => {
    await t?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('answers a problem+json 503 that says how to build it', async () => {
    for (const url of ['/admin', '/admin/users', '/admin/assets/index.js']) {
      const res = await t.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(503)
      expect(res.headers['content-type']).toMatch(/problem\+json/)
      expect(res.json()).toMatchObject({ code: 'CONSOLE_NOT_BUILT', status: 503 })
      expect(res.json().detail).toContain('npm install')
    }
  })
})
