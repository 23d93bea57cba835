import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot, spawnBackplane } from '../helpers/process.ts'

// `npm start` runs the compiled dist/ with Node flags from package.json. Every other system test
// runs src/ directly, so this one proves the build itself: dynamic imports that tsc left pointing
// at `.ts` once made `node dist/main.js start` fail to load its queue adapter.
const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
const [node, ...startArgs] = pkg.scripts.start!.split(' ')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'backplane-npm-start-'))
  // What `prestart` does: rebuild dist/ if src/ is newer than the last build.
  const build = spawnSync(process.execPath, [join(projectRoot, 'scripts/build-if-stale.ts')], { cwd: projectRoot, encoding: 'utf8' })
  expect(build.status, build.stderr).toBe(0)
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('npm start', () => {
  it('is node running dist/main.js start', () => {
    expect(node).toBe('node')
    expect(startArgs.slice(-2)).toEqual(['dist/main.js', 'start'])
    expect(pkg.scripts.prestart).toBe('node scripts/build-if-stale.ts')
  })

  it('serves from dist/ on the embedded database: ready with its queue adapter loaded, a sign-up and a sign-in, then a clean stop', async () => {
    const bp = await spawnBackplane({ DATA_DIR: dir }, startArgs)
    try {
      const health = await fetch(`${bp.url}/health/ready`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ status: 'ok' })
      const register = await fetch(`${bp.url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'dist-start@example.com', password: 'a long enough passphrase 42' })
      })
      expect(register.status, await register.text()).toBe(202)
      const login = await fetch(`${bp.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'dist-start@example.com', password: 'a long enough passphrase 42' })
      })
      expect(login.status).toBe(200)
    } finally {
      bp.child.kill('SIGTERM')
    }
    const exit = await bp.exited
    expect(exit.code, bp.output()).toBe(0)
    expect(bp.output()).not.toContain('Cannot find module')
  })
})
