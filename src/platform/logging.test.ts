import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { sql } from 'drizzle-orm'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createTestApp, testConfig, type TestApp } from '../../test/helpers/app.ts'
import { projectRoot } from '../../test/helpers/process.ts'
import { ConfigError } from '../lib/config-values.ts'
import { censorSecrets, createLogger, isoTime } from './logging.ts'
import { defineModule } from './modules.ts'

/** canary returns a unique marker that must never reach a log line. */
const canary = (label: string) => `CANARY-${label}-${randomBytes(6).toString('hex')}`
const SECRET_KEYS = ['password', 'token', 'secret', 'authorization', 'apiKey'] as const

const probe = defineModule({
  name: 'probe',
  plugin: async (app) => {
    app.post('/probe/login', async (request) => {
      // A careless handler: logs the whole request and throws an error that carries it.
      request.log.info({ headers: request.headers, body: request.body }, 'login attempt')
      throw Object.assign(new Error('upstream refused the login'), {
        body: request.body,
        config: { headers: { authorization: request.headers.authorization, 'x-api-key': request.headers['x-api-key'], cookie: request.headers.cookie } }
      })
    })
    app.get('/probe/crash', async () => { throw new Error('kaboom') })
    const typed = app.withTypeProvider<TypeBoxTypeProvider>()
    typed.post('/probe/failed-query', { schema: { body: Type.Object({ secret: Type.String() }) } }, async (request) => {
      // A statement that fails after binding a secret, as an insert of a hash that hits a bug would.
      const { secret } = request.body
      await app.db.execute(sql`SELECT ${secret}::text AS hash, 1 / ${0}::int AS boom`)
      return { ok: true }
    })
    typed.post('/probe/echo-name', { schema: { body: Type.Object({ name: Type.String() }) } }, async (request) => {
      const { name } = request.body
      request.log.info({ username: name }, `user ${name} signed in`)
      return { ok: true }
    })
  }
})

let t: TestApp
beforeAll(async () => { t = await createTestApp({ modules: [probe] }) })
afterAll(async () => { await t.close() })

describe('redaction (LG-02)', () => {
  it('censors secret keys at the top level and nested one to three levels deep', async () => {
    const canaries: string[] = []
    for (const key of SECRET_KEYS) {
      const c = [canary(`${key}0`), canary(`${key}1`), canary(`${key}2`), canary(`${key}3`)] as const
      canaries.push(...c)
      t.app.log.info({ [key]: c[0], a: { [key]: c[1] }, b: { c: { [key]: c[2] } }, d: { e: { f: { [key]: c[3] } } } }, `object with ${key}`)
      const line = t.logs.lines().find((l) => l.msg === `object with ${key}`)
      expect(line).toMatchObject({ [key]: '[redacted]', a: { [key]: '[redacted]' }, b: { c: { [key]: '[redacted]' } }, d: { e: { f: { [key]: '[redacted]' } } } })
    }
    const text = t.logs.text()
    for (const c of canaries) expect(text).not.toContain(c)
  })

  it('censors the other secret names (refresh tokens, cookies, hashes, keys)', async () => {
    const keys = ['accessToken', 'refreshToken', 'newPassword', 'currentPassword', 'passwordHash', 'clientSecret', 'api_key', 'cookie', 'privateKey', 'x-api-key', 'set-cookie']
    const values = Object.fromEntries(keys.map((k) => [k, canary(k)]))
    t.app.log.warn({ ...values, nested: { ...values } }, 'many secrets')
    const text = t.logs.text()
    for (const value of Object.values(values)) expect(text).not.toContain(value)
    const line = t.logs.lines().find((l) => l.msg === 'many secrets')
    expect(line?.passwordHash).toBe('[redacted]')
    expect((line?.nested as Record<string, unknown>)['x-api-key']).toBe('[redacted]')
  })

  it('keeps header, cookie, API key and password canaries of a failing request out of every log line', async () => {
    const bearer = canary('bearer')
    const cookie = canary('cookie')
    const apiKey = canary('apikey')
    const password = canary('password')
    const queryToken = canary('query')
    const res = await t.app.inject({
      method: 'POST',
      url: `/probe/login?token=${queryToken}`,
      headers: {
        authorization: `Bearer ${bearer}`,
        cookie: `session=${cookie}`,
        'x-api-key': `bp_${apiKey}`,
        'x-request-id': 'leak-check'
      },
      payload: { email: 'someone@example.com', password }
    })
    expect(res.statusCode).toBe(500)
    for (const c of [bearer, cookie, apiKey, password, queryToken]) expect(res.body).not.toContain(c)

    const lines = t.logs.lines().filter((l) => l.requestId === 'leak-check')
    expect(lines.map((l) => l.msg)).toEqual(['login attempt', 'request failed', 'request'])
    // The lines are still useful: non-secret fields survive.
    expect(lines[0]).toMatchObject({ body: { email: 'someone@example.com', password: '[redacted]' }, headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]' } })
    expect(lines[1]).toMatchObject({ level: 50, err: { type: 'Error', message: 'upstream refused the login' } })
    expect(lines[2]).toMatchObject({ url: '/probe/login', status: 500 })

    const text = t.logs.text()
    for (const c of [bearer, cookie, apiKey, password, queryToken]) expect(text).not.toContain(c)
    expect(text).not.toContain('?token=')
  })

  it('does not log the query string of any request', async () => {
    const secret = canary('q')
    await t.app.inject({ method: 'GET', url: `/probe/crash?token=${secret}&a=1` })
    await t.app.inject({ method: 'GET', url: `/no/such/route?token=${secret}` })
    await t.app.inject({ method: 'POST', url: `/probe/echo-name?token=${secret}`, headers: { 'content-type': 'application/json' }, payload: '{' })
    const text = t.logs.text()
    expect(text).not.toContain(secret)
    expect(text).not.toContain('?token=')
    const urls = t.logs.lines().filter((l) => l.msg === 'request').map((l) => l.url)
    expect(urls).toEqual(expect.arrayContaining(['/probe/crash', '/no/such/route', '/probe/echo-name']))
  })
  it('keeps the bound values of a failed query out of the log, and the query itself in it', async () => {
    const secret = canary('param')
    const res = await t.app.inject({ method: 'POST', url: '/probe/failed-query', payload: { secret } })
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain(secret)
    const line = t.logs.text().split('\n').find((l) => l.includes('"request failed"') && l.includes('1 / $2'))
    expect(line, 'the failed query is logged').toBeDefined()
    expect(t.logs.text()).not.toContain(secret)
    const err = (JSON.parse(line ?? '{}') as { err: { message: string, stack: string, params: unknown } }).err
    expect(err.message).toContain('params: [redacted]')
    expect(err.stack).not.toContain(secret)
    expect(err.params).toBe('[redacted]')
  })
})

describe('censorSecrets', () => {
  it('matches secret names in any letter case and at any depth up to 8, copying only what changes', () => {
    const clean = { method: 'GET', nested: { a: [1, { b: 'c' }] } }
    expect(censorSecrets(clean)).toBe(clean)
    const deep = { l1: { l2: { l3: { l4: { l5: { l6: { l7: { Token: 'x', keep: 1 } } } } } } } }
    expect(JSON.stringify(censorSecrets(deep))).toBe('{"l1":{"l2":{"l3":{"l4":{"l5":{"l6":{"l7":{"Token":"[redacted]","keep":1}}}}}}}}')
    const input = { headers: { Authorization: 'Bearer a', COOKIE: 'b', 'X-Api-Key': 'c', accept: 'json' }, list: [{ password: 'p' }, 'plain'] }
    expect(censorSecrets(input)).toEqual({ headers: { Authorization: '[redacted]', COOKIE: '[redacted]', 'X-Api-Key': '[redacted]', accept: 'json' }, list: [{ password: '[redacted]' }, 'plain'] })
    expect(input.headers.Authorization).toBe('Bearer a') // the caller's object is untouched
  })

  it('keeps errors serialisable and censors their fields, causes left to the serializer', () => {
    const err = Object.assign(new Error('boom', { cause: new Error('inner') }), { code: 'E1', config: { headers: { Authorization: 'Bearer z' } } })
    const out = censorSecrets({ err }) as { err: Error & { code: string, config: unknown } }
    expect(out.err).toBeInstanceOf(Error)
    expect(out.err).not.toBe(err)
    expect(out.err.message).toBe('boom')
    expect(out.err.stack).toBe(err.stack)
    expect((out.err.cause as Error).message).toBe('inner')
    expect(out.err.code).toBe('E1')
    expect(out.err.config).toEqual({ headers: { Authorization: '[redacted]' } })
  })

  it('survives cycles', () => {
    const cyclic: Record<string, unknown> = { token: 't', name: 'n' }
    cyclic.self = cyclic
    expect(censorSecrets(cyclic)).toEqual({ token: '[redacted]', name: 'n', self: '[Circular]' })
  })

  it('censors errors logged directly and aggregate errors', () => {
    const chunks: string[] = []
    const stream = new Writable({ write (chunk: Buffer, _enc, cb) { chunks.push(chunk.toString()); cb() } })
    const log = createLogger(testConfig(), stream)
    const secret = canary('error')
    log.error(Object.assign(new Error('direct'), { password: secret }))
    log.error(new AggregateError([Object.assign(new Error('one'), { apiKey: secret })], 'many failed'))
    expect(chunks.join('')).not.toContain(secret)
    expect(JSON.parse(chunks[0] ?? '')).toMatchObject({ err: { type: 'Error', message: 'direct', password: '[redacted]' }, msg: 'direct' })
    expect(JSON.parse(chunks[1] ?? '')).toMatchObject({ err: { type: 'AggregateError', aggregateErrors: [{ message: 'one', apiKey: '[redacted]' }] } })
  })
})

describe('log injection (LG-03)', () => {
  it('keeps a value with newlines, a forged JSON line and ANSI escapes on one escaped line', async () => {
    // (A NUL is refused at the edge before any handler logs it: src/platform/nul.test.ts.)
    const name = 'mallory\n{"level":60,"msg":"forged admin login"}\r\n\u001b[31mRED\u001b[0m\u0007\u0001end'
    const before = t.logs.text().split('\n').filter(Boolean).length
    const res = await t.app.inject({ method: 'POST', url: '/probe/echo-name', headers: { 'x-request-id': 'inject-check' }, payload: { name } })
    expect(res.statusCode).toBe(200)
    const raw = t.logs.text().split('\n').filter(Boolean).slice(before)
    expect(raw).toHaveLength(2) // the handler's line and the request line, nothing forged
    for (const line of raw) expect(() => JSON.parse(line) as unknown).not.toThrow()
    const text = t.logs.text()
    expect(text).not.toContain('\u001b')
    expect(text).not.toContain('\u0007')
    expect(text).not.toContain('\u0001')
    expect(text).not.toContain('\r')
    expect(text).toContain('\\u001b[31m')
    const logged = t.logs.lines().filter((l) => l.requestId === 'inject-check')
    expect(logged[0]).toMatchObject({ username: name, msg: `user ${name} signed in` })
    expect(t.logs.lines().filter((l) => l.msg === 'forged admin login')).toEqual([])
  })

  it('keeps an encoded newline in the URL on one line', async () => {
    const before = t.logs.text().split('\n').filter(Boolean).length
    await t.app.inject({ method: 'GET', url: '/probe/x%0A%7B%22level%22%3A60%7D%1B%5B31m', headers: { 'x-request-id': 'url-inject' } })
    const raw = t.logs.text().split('\n').filter(Boolean).slice(before)
    expect(raw).toHaveLength(1)
    expect(JSON.parse(raw[0] ?? '')).toMatchObject({ requestId: 'url-inject', url: '/probe/x%0A%7B%22level%22%3A60%7D%1B%5B31m', status: 404 })
  })
})

describe('createLogger', () => {
  it('stamps lines as pino isoTime does, formatting the time once per millisecond', () => {
    const now = vi.spyOn(Date, 'now')
    try {
      now.mockReturnValue(Date.UTC(2026, 11, 4, 1, 2, 3, 456))
      expect(isoTime()).toBe(',"time":"2026-12-04T01:02:03.456Z"')
      expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime())
      now.mockReturnValue(Date.UTC(2026, 11, 4, 1, 2, 3, 457))
      expect(isoTime()).toBe(',"time":"2026-12-04T01:02:03.457Z"')
    } finally {
      now.mockRestore()
    }
  })

  it('writes JSON lines with the service name, ISO time and redaction to a given stream', () => {
    const chunks: string[] = []
    const stream = new Writable({ write (chunk: Buffer, _enc, cb) { chunks.push(chunk.toString()); cb() } })
    const log = createLogger(testConfig(), stream, 'debug')
    const secret = canary('direct')
    log.debug({ user: { password: secret } }, 'hello')
    const line = JSON.parse(chunks.join('')) as Record<string, unknown>
    expect(line).toMatchObject({ level: 20, service: 'backplane', msg: 'hello', user: { password: '[redacted]' } })
    expect(new Date(String(line.time)).toISOString()).toBe(line.time)
    expect(chunks.join('')).not.toContain(secret)
  })

  it('writes the lines still batched when the process exits, to stdout and LOG_FILE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-log-exit-'))
    try {
      for (const how of ['exit', 'throw']) {
        const file = join(dir, how, 'app.log')
        const run = spawnSync(process.execPath, ['test/fixtures/log-then-exit.ts', how], {
          cwd: projectRoot,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', LOG_FILE: file }
        })
        const expected = how === 'exit' ? 3 : 4
        const stdout = run.stdout.split('\n').filter((l) => l.includes('"service":"backplane"'))
        expect(stdout, run.stderr).toHaveLength(expected)
        // The file is open from the logger's creation, so it has every line, even at an immediate exit.
        const files = await readdir(join(dir, how)).catch(() => [] as string[])
        const content = (await Promise.all(files.map((f) => readFile(join(dir, how, f), 'utf8')))).join('')
        expect(content.split('\n').filter(Boolean)).toHaveLength(expected)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a LOG_FILE it cannot write with one line naming the setting, before anything starts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-log-bad-'))
    try {
      const notAFolder = join(dir, 'plain-file')
      await writeFile(notAFolder, 'x')
      for (const [file, says] of [
        [join(notAFolder, 'app.log'), `LOG_FILE=${JSON.stringify(join(notAFolder, 'app.log'))} cannot be written: its folder ${notAFolder} cannot be created or written (`],
        [dir, `LOG_FILE=${JSON.stringify(dir)} is a folder: name a file in it`]
      ] as const) {
        let err: unknown
        try { createLogger(testConfig({ LOG_FILE: file })) } catch (e) { err = e }
        expect(err).toBeInstanceOf(ConfigError)
        expect((err as Error).message).toContain(says)
        expect((err as Error).message).not.toContain('\n')
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('writes to LOG_FILE, numbered like app.1.log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backplane-log-'))
    try {
      const log = createLogger(testConfig({ LOG_FILE: join(dir, 'nested', 'app.log'), LOG_LEVEL: 'info' }))
      const marker = canary('file-marker')
      const secret = canary('file-secret')
      log.info({ marker, token: secret }, 'to the file')
      log.debug({ marker }, 'below the level')
      let content = ''
      let files: string[] = []
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline && !content.includes(marker)) {
        await new Promise<void>((resolve) => { log.flush(() => { resolve() }) })
        files = await readdir(join(dir, 'nested')).catch(() => [])
        content = (await Promise.all(files.map((f) => readFile(join(dir, 'nested', f), 'utf8')))).join('')
        if (!content.includes(marker)) await new Promise((resolve) => setTimeout(resolve, 50))
      }
      // The file written is numbered: app.log becomes app.1.log (then app.2.log, …).
      expect(files).toEqual(['app.1.log'])
      const lines = content.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ level: 30, service: 'backplane', msg: 'to the file', marker, token: '[redacted]' })
      expect(content).not.toContain(secret)
      const stream = (log as unknown as Record<symbol, { end: () => void }>)[pino.symbols.streamSym]
      stream?.end()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
