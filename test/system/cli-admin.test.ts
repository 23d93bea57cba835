import { execFile, spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts'
import { projectRoot } from '../helpers/process.ts'
import { adminQuery } from '../helpers/services.ts'

interface Run { code: number, stdout: string, stderr: string }

function cli (args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['src/main.ts', ...args], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', BACKPLANE_SECRET: 'cli-test-secret-0123456789-abcdefghij', ...env },
      timeout: 60_000
    }, (err, stdout, stderr) => { resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }) })
    child.stdin?.end(input ?? '')
  })
}

let db: TestDatabase
beforeAll(async () => { db = await createTestDatabase() })
afterAll(async () => { await db.drop() })

describe('backplane create-admin', () => {
  it('creates an admin from flags and a password on stdin', async () => {
    const run = await cli(['create-admin', '--email', 'Boss@Example.test', '--name', 'Boss', '--password-stdin'], { DATABASE_URL: db.url }, 'a-Very-long-passphrase-42\n')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^created admin boss@example\.test \([0-9a-f-]{36}\)\n$/)
    const { rows } = await adminQuery(db.url, "SELECT roles, email_verified_at IS NOT NULL AS verified, password_hash FROM users WHERE email = 'boss@example.test'")
    expect(rows[0]).toMatchObject({ roles: ['admin'], verified: true })
    expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  })

  it('grants admin to an existing account and says so', async () => {
    await cli(['create-admin', '--email', 'second@example.test', '--password-stdin'], { DATABASE_URL: db.url }, 'another-Long-passphrase-7')
    await adminQuery(db.url, "UPDATE users SET roles = ARRAY['user'] WHERE email = 'second@example.test'")
    const run = await cli(['create-admin', '--email', 'second@example.test', '--password-stdin'], { DATABASE_URL: db.url }, 'whatever-it-is-unused-1')
    expect(run.stdout).toContain('granted admin to existing account second@example.test')
    const { rows } = await adminQuery(db.url, "SELECT roles FROM users WHERE email = 'second@example.test'")
    expect(rows[0].roles).toEqual(['user', 'admin'])
  })

  it('refuses a weak password with one line and exit 1', async () => {
    const run = await cli(['create-admin', '--email', 'weak@example.test', '--password-stdin'], { DATABASE_URL: db.url }, 'short')
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toContain('at least 12 characters')
  })

  it('asks for flags when not run in a terminal', async () => {
    const run = await cli(['create-admin'], { DATABASE_URL: db.url })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('--email and --password-stdin')
  })
})

// The interactive prompt, driven through a real terminal (util-linux `script` gives the CLI a pty).
function promptRun (env: Record<string, string>, answers: Array<[RegExp, string]>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qfec', `stty cols 120 rows 40; ${process.execPath} src/main.ts create-admin`, '/dev/null'], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', BACKPLANE_SECRET: 'cli-test-secret-0123456789-abcdefghij', ...env }
    })
    let out = ''
    let next = 0
    let seenAt = 0
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      // Answer each prompt once its question (or refusal) appears after the previous answer.
      const pending = answers[next]
      if (pending && pending[0].test(out.slice(seenAt))) {
        next++
        seenAt = out.length
        setTimeout(() => { child.stdin.write(pending[1]) }, 100)
      }
    })
    const timer = setTimeout(() => { child.kill() }, 60_000)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? 1, stdout: out, stderr: '' }) })
  })
}

describe('backplane create-admin in a terminal', () => {
  it('asks for email, name and password, refuses a common password and a mismatched repeat at the prompt, then creates the admin', async () => {
    const bs = '\x7f'.repeat(40)
    const run = await promptRun({ DATABASE_URL: db.url }, [
      [/Email/, 'prompt@example.test\r'],
      [/Name/, 'Pat\r'],
      [/Password \(12\+ characters\)/, 'password1234\r'],
      [/too common/, `${bs}Amber lantern quietly 7\r`],
      [/Password again/, 'Amber lantern quietly 8\r'],
      [/differ/, `${bs}Amber lantern quietly 7\r`]
    ])
    expect(run.stdout).toMatch(/created admin prompt@example\.test/)
    expect(run.code).toBe(0)
    const { rows } = await adminQuery(db.url, "SELECT roles, name FROM users WHERE email = 'prompt@example.test'")
    expect(rows[0]).toMatchObject({ roles: ['admin'], name: 'Pat' })
  })
})

describe('backplane keys rotate', () => {
  it('makes a new active key and retires the old one', async () => {
    await cli(['keys', 'rotate'], { DATABASE_URL: db.url })
    const run = await cli(['keys', 'rotate'], { DATABASE_URL: db.url })
    expect(run.code, run.stderr).toBe(0)
    const { rows } = await adminQuery(db.url, 'SELECT status, count(*)::int AS n FROM signing_keys GROUP BY status ORDER BY status')
    expect(rows).toEqual([{ status: 'active', n: 1 }, { status: 'retired', n: 1 }])
    expect(run.stdout).toMatch(/^new signing key [A-Za-z0-9_-]+ is active/)
  })
})
