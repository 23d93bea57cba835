import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestApp, type TestApp } from '../../test/helpers/app.ts'
import { version } from '../lib/version.ts'

const PRODUCTION = { BACKPLANE_ENV: 'production', BACKPLANE_SECRET: randomBytes(32).toString('base64'), DATABASE_EMBEDDED_OK: 'true' }
const root = fileURLToPath(new URL('../../', import.meta.url))

interface LintProblem { ruleId: string, severity: 'error' | 'warn', message: string, location?: Array<{ pointer?: string }> }
interface Operation {
  responses?: Record<string, { content?: Record<string, unknown> }>
  parameters?: Array<{ in: string, name: string, required?: boolean, schema?: { default?: unknown } }>
}
interface LintResult { code: number | null, problems: LintProblem[], stderr: string }

/** redoclyLint runs the project's Redocly CLI on a file with its recommended rules and parses the JSON report. */
function redoclyLint (file: string, cwd: string): Promise<LintResult> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/redocly'), ['lint', file, '--format=json'], {
      cwd,
      timeout: 60_000,
      maxBuffer: 10 * 1024 * 1024,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }
    }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0
      const json = stdout.slice(stdout.indexOf('{'))
      const problems = json ? (JSON.parse(json) as { problems: LintProblem[] }).problems : []
      resolve({ code, problems, stderr })
    })
  })
}

describe('OpenAPI document (development)', () => {
  let t: TestApp
  beforeAll(async () => { t = await createTestApp() })
  afterAll(async () => { await t.close() })

  it('is OpenAPI 3.1.0 with the public operations', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    const doc = res.json()
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toMatchObject({ title: 'Backplane API', version, license: { name: 'MIT', identifier: 'MIT' } })
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/api/v1/instance']))
    expect(doc.paths['/health/live'].get.operationId).toBe('healthLive')
    expect(doc.paths['/health/ready'].get.operationId).toBe('healthReady')
    expect(doc.paths['/api/v1/instance'].get.operationId).toBe('getInstance')
    expect(Object.keys(doc.paths['/health/ready'].get.responses)).toEqual(expect.arrayContaining(['200', '503']))
  })

  it('says which operations are public and which credentials the others take', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    expect(doc.components.securitySchemes).toMatchObject({
      bearerAuth: { type: 'http', scheme: 'bearer' },
      apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' }
    })
    for (const path of ['/health/live', '/health/ready', '/api/v1/instance']) expect(doc.paths[path].get.security).toEqual([])
    const schemes = new Set(Object.keys(doc.components.securitySchemes as object))
    for (const item of Object.values(doc.paths) as Array<Record<string, { security?: Array<Record<string, unknown>> }>>) {
      for (const op of Object.values(item)) {
        expect(op.security).toBeDefined()
        for (const requirement of op.security ?? []) for (const name of Object.keys(requirement)) expect(schemes.has(name)).toBe(true)
      }
    }
  })

  it('leaves out internal routes (metrics, docs, the document itself, CORS preflight)', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const paths = Object.keys(doc.paths)
    expect(paths).not.toContain('/metrics')
    expect(paths).not.toContain('/openapi.json')
    expect(paths.filter((p) => p.startsWith('/docs'))).toEqual([])
    expect(paths).not.toContain('*')
    for (const item of Object.values(doc.paths) as Array<Record<string, unknown>>) expect(item).not.toHaveProperty('options')
  })

  it('documents every operation with an id, a summary and a tag', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const ids = new Set<string>()
    for (const item of Object.values(doc.paths) as Array<Record<string, { operationId?: string, summary?: string, tags?: string[] }>>) {
      for (const op of Object.values(item)) {
        expect(op.operationId).toMatch(/^[a-z][A-Za-z0-9]+$/)
        expect(op.summary).toBeTruthy()
        expect(op.tags?.length).toBeGreaterThan(0)
        ids.add(op.operationId ?? '')
      }
    }
    expect(ids.size).toBeGreaterThanOrEqual(3)
  })

  it('serves the reference page at /docs', async () => {
    const bare = await t.app.inject({ method: 'GET', url: '/docs' })
    expect(bare.statusCode).toBe(200)
    const res = await t.app.inject({ method: 'GET', url: '/docs/' })
    expect(res.statusCode).toBe(200)
    expect(String(res.headers['content-type'])).toMatch(/^text\/html/)
    expect(res.body).toMatch(/<html/i)
    expect(res.body).toContain('/openapi.json')
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'")
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    // The page's script is the Scalar bundle, served (and loaded into memory) on first use.
    expect(res.body).toContain('<script src="/docs/scalar.js">')
    const js = await t.app.inject({ method: 'GET', url: '/docs/scalar.js' })
    expect(js.statusCode).toBe(200)
    expect(String(js.headers['content-type'])).toMatch(/^text\/javascript/)
    expect(js.body.length).toBeGreaterThan(100_000)
    expect(js.body).toContain('createApiReference')
  })

  it('declares every error response as application/problem+json, the type the server sends', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const wrong: string[] = []
    let errorResponses = 0
    for (const [path, item] of Object.entries(doc.paths) as Array<[string, Record<string, Operation>]>) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (!/^[45]/.test(status)) continue
          errorResponses++
          const types = Object.keys(response.content ?? {})
          // Readiness answers 503 with its own report (the checks that failed), not a problem.
          const expected = path === '/health/ready' && status === '503' ? 'application/json' : 'application/problem+json'
          if (types.join() !== expected) wrong.push(`${method.toUpperCase()} ${path} ${status}: ${types.join() || 'no content'}`)
        }
      }
    }
    expect(errorResponses).toBeGreaterThan(100)
    expect(wrong).toEqual([])
    // What the document says is what a reply carries.
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/users/me' })
    expect(res.statusCode).toBe(401)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
  })

  it('marks no query parameter with a default as required', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const wrong: string[] = []
    let defaulted = 0
    for (const [path, item] of Object.entries(doc.paths) as Array<[string, Record<string, Operation>]>) {
      for (const [method, op] of Object.entries(item)) {
        for (const param of op.parameters ?? []) {
          if (param.in !== 'query' || param.schema?.default === undefined) continue
          defaulted++
          if (param.required) wrong.push(`${method.toUpperCase()} ${path} ?${param.name}`)
        }
      }
    }
    expect(defaulted).toBeGreaterThan(5)
    expect(wrong).toEqual([])
  })

  it('documents the JWKS endpoint and its reply', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const op = doc.paths['/.well-known/jwks.json']?.get
    expect(op).toMatchObject({ operationId: 'jwks', security: [] })
    const schema = op.responses['200'].content['application/json'].schema
    expect(schema.properties.keys.type).toBe('array')
    expect(schema.properties.keys.items.properties).toHaveProperty('kid')
    const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    expect(jwks.statusCode).toBe(200)
    expect(jwks.json().keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: expect.any(String) })
  })

  it('passes redocly lint with no errors and no warnings', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json()
    const dir = await mkdtemp(join(tmpdir(), 'backplane-openapi-'))
    try {
      const file = join(dir, 'openapi.json')
      await writeFile(file, JSON.stringify(doc, null, 2))
      const result = await redoclyLint(file, dir)
      // The one exception: the OAuth/OIDC redirection endpoint (RFC 6749 §3.1.2) answers only with a
      // redirect, so it has no 2XX response to document. Anything else Redocly reports fails the test.
      const redirectOnly = (e: LintProblem) => e.ruleId === 'operation-2xx-response' && e.location?.[0]?.pointer === '#/paths/~1api~1v1~1auth~1oidc~1callback/get/responses'
      expect(result.problems.filter((e) => !redirectOnly(e)).map((e) => `${e.severity} ${e.ruleId}: ${e.message} ${e.location?.[0]?.pointer ?? ''}`)).toEqual([])
      expect(result.problems.filter((e) => e.severity === 'error')).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }, 90_000)
})

describe('CF-04: OpenAPI document in production', () => {
  it('is not served by default', async () => {
    const t = await createTestApp({ env: PRODUCTION })
    try {
      for (const url of ['/openapi.json', '/docs', '/docs/']) {
        const res = await t.app.inject({ method: 'GET', url })
        expect(res.statusCode).toBe(404)
        expect(res.json().code).toBe('NOT_FOUND')
      }
      // The API itself still works.
      expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    } finally {
      await t.close()
    }
  })

  it('is served with DOCS_ENABLED=true', async () => {
    const t = await createTestApp({ env: { ...PRODUCTION, DOCS_ENABLED: 'true' } })
    try {
      const doc = await t.app.inject({ method: 'GET', url: '/openapi.json' })
      expect(doc.statusCode).toBe(200)
      expect(doc.json().openapi).toBe('3.1.0')
      expect((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200)
    } finally {
      await t.close()
    }
  })
})
