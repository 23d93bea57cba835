// Issue 13 (idle RSS): what a process needs only for a rare request is loaded by that request, not
// at start. A started node that served one request must not have loaded WebAuthn (with its ASN.1 and
// X.509 libraries), the upload sniffer, or without REDIS_URL the Redis rate-limit client.
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/db.ts'
import { spawnBackplane } from '../helpers/process.ts'

async function modulesLoaded (env: Record<string, string>): Promise<string[]> {
  const file = `${tmpdir()}/backplane-idle-loads-${process.pid}-${Date.now()}.json`
  const db = await createTestDatabase()
  try {
    const node = await spawnBackplane({ DATABASE_URL: db.url, RECORD_LOADS_FILE: file, ...env }, ['--import', './test/fixtures/record-loads.mjs', 'src/main.ts', 'start'], 60_000)
    expect((await fetch(`${node.url}/api/v1/instance`)).status).toBe(200)
    node.child.kill('SIGTERM')
    await node.exited
    const { loaded, cache } = JSON.parse(await readFile(file, 'utf8')) as { loaded: string[], cache: string[] }
    expect(loaded.length).toBeGreaterThan(100)
    return [...loaded, ...cache]
  } finally {
    await db.drop()
    await rm(file, { force: true })
  }
}

describe('modules loaded at start', () => {
  it('leaves out what only a rare request needs: WebAuthn, the file-type sniffer, web-push, ioredis without REDIS_URL, typebox/value, Argon2', async () => {
    const loaded = await modulesLoaded({})
    const of = (pkg: string) => loaded.filter((m) => m.includes(`/node_modules/${pkg}/`))
    expect(of('@simplewebauthn/server')).toEqual([])
    expect(of('@peculiar/asn1-schema')).toEqual([])
    expect(of('file-type')).toEqual([])
    // Web Push (with asn1.js, jws and a proxy agent) on the first push sent or key pair made.
    expect(of('web-push')).toEqual([])
    expect(of('asn1.js')).toEqual([])
    if (!process.env.REDIS_URL) expect(of('ioredis')).toEqual([])
    // Argon2's native library on the first password hashed or checked.
    expect(of('@node-rs/argon2')).toEqual([])
    expect(of('@node-rs/argon2-linux-x64-gnu')).toEqual([])
    // The settings are checked with Ajv (loaded for Fastify anyway), not typebox/value's 140 modules.
    expect(loaded.filter((m) => m.includes('/node_modules/typebox/build/value/'))).toEqual([])
  }, 120_000)
})
