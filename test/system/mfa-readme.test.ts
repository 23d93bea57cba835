// The README's two-factor curl example ("Two-factor sign-in (TOTP) and step-up"), run literally by
// bash against a listening Backplane: only its base URL is pointed at this test's server. The test
// plays the authenticator app: it reads the otpauth URI the script prints, and types codes on stdin.
import { spawn, spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.ts'
import { as, makeUser } from '../helpers/auth.ts'
import { totpCode } from '../helpers/mfa.ts'
import { readmeBlock } from '../helpers/readme.ts'

const tools = spawnSync('sh', ['-c', 'command -v curl && command -v jq && command -v bash']).status === 0
let t: TestApp
let url: string

beforeAll(async () => {
  // Codes are single-use per 30 s step: the (faked) clock moves a step on before the second code.
  vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true })
  t = await createTestApp()
  url = await t.app.listen({ host: '127.0.0.1', port: 0 })
})
afterAll(async () => {
  await t.close()
  vi.useRealTimers()
})

describe.skipIf(!tools)('the README two-factor example', () => {
  it('MF-01 enrols, prints the recovery codes, then signs in with the password and a code', async () => {
    const user = await makeUser(t.app)
    const script = (await readmeBlock('### Two-factor sign-in (TOTP) and step-up')).replace('http://localhost:8080', url)
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH ?? '', ACCESS: user.accessToken, EMAIL: user.email, PASSWORD: user.password },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    let typed = 0
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const secret = /secret=([A-Z2-7]+)/.exec(out)?.[1]
      if (secret && typed === 0) { typed = 1; child.stdin.write(`${totpCode(secret)}\n`) }
      if (secret && typed === 1 && (out.match(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/gm) ?? []).length === 10) {
        typed = 2
        vi.setSystemTime(Date.now() + 30_000)
        child.stdin.write(`${totpCode(secret)}\n`)
        child.stdin.end()
      }
    })
    expect(await exited, err).toBe(0)
    const lines = out.trim().split('\n')
    expect(lines[0]).toMatch(/^otpauth:\/\/totp\//)
    const accessToken = lines.at(-1)!
    expect(accessToken.split('.')).toHaveLength(3)
    const me = await t.app.inject(as({ accessToken }, { method: 'GET', url: '/api/v1/users/me' }))
    expect(me.json().email).toBe(user.email)
  }, 30_000)
})
