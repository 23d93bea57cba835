import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { withDatabase } from '../../src/platform/adapters/postgres.ts'
import { migrationsFolder, runMigrations } from '../../src/platform/migrate.ts'
import { adminQuery } from '../helpers/services.ts'

const adminUrl = inject('adminUrl')
const name = `${inject('runId')}_migr`
const url = withDatabase(adminUrl, name)
let folder: string

beforeAll(async () => {
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`)
  // A copy of the real migrations plus one that creates a table and then fails half-way.
  folder = await mkdtemp(join(tmpdir(), 'backplane-migr-'))
  await cp(migrationsFolder, folder, { recursive: true })
  const journal = JSON.parse(await readFile(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number, when: number, tag: string, breakpoints: boolean, version: string }> }
  const last = journal.entries.at(-1)!
  journal.entries.push({ idx: last.idx + 1, version: last.version, when: last.when + 1000, tag: '9999_broken', breakpoints: true })
  await writeFile(join(folder, 'meta', '_journal.json'), JSON.stringify(journal))
  await writeFile(join(folder, '9999_broken.sql'), 'CREATE TABLE half_done (id int);\n--> statement-breakpoint\nINSERT INTO instance_settings (id, key, value) VALUES (gen_random_uuid(), \'x\', \'1\');\n--> statement-breakpoint\nSELECT 1/0;')
})
afterAll(async () => {
  await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await rm(folder, { recursive: true, force: true })
})

describe('migrations', () => {
  it('apply to an empty database and are a no-op the second time', async () => {
    await runMigrations(url)
    const first = await adminQuery(url, 'SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id')
    await runMigrations(url)
    const second = await adminQuery(url, 'SELECT hash FROM drizzle.__drizzle_migrations ORDER BY id')
    expect(second.rows).toEqual(first.rows)
    expect(first.rowCount).toBeGreaterThan(0)
  })

  it('leave the database exactly as it was when one fails, and report the error', async () => {
    const before = await adminQuery(url, 'SELECT count(*)::int AS n FROM instance_settings')
    await expect(runMigrations(url, folder)).rejects.toThrow(/division by zero/)
    const table = await adminQuery(url, "SELECT to_regclass('public.half_done') AS t")
    expect(table.rows[0].t).toBeNull()
    const after = await adminQuery(url, 'SELECT count(*)::int AS n FROM instance_settings')
    expect(after.rows[0].n).toBe(before.rows[0].n)
    const applied = await adminQuery(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')
    const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
    expect(applied.rows[0].n).toBe(journal.entries.length)
  })

  it('say which server they cannot reach, without its password', async () => {
    const err = await runMigrations('postgres://app:pw-canary@127.0.0.1:1/nowhere').then(() => undefined, (e: unknown) => e as Error)
    expect(err?.message).toMatch(/^cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere as app: .*ECONNREFUSED/)
    expect(err?.message).not.toContain('pw-canary')
  })

  it('run once when several nodes start together', async () => {
    const fresh = `${inject('runId')}_migr_race`
    await adminQuery(adminUrl, `CREATE DATABASE ${fresh}`)
    try {
      const freshUrl = withDatabase(adminUrl, fresh)
      await Promise.all([runMigrations(freshUrl), runMigrations(freshUrl), runMigrations(freshUrl)])
      const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
      const applied = await adminQuery(freshUrl, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')
      expect(applied.rows[0].n).toBe(journal.entries.length)
    } finally {
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`)
    }
  })
})

describe('a team module\'s own migrations', () => {
  it('apply after Backplane\'s, even when older than its latest, once, tracked apart', async () => {
    const own = await mkdtemp(join(tmpdir(), 'backplane-team-migr-'))
    try {
      // when: 1 (1970) is older than every Backplane migration: one shared table would skip it.
      await writeFile(join(own, '0000_team.sql'), 'CREATE TABLE team_things (id int);')
      await mkdir(join(own, 'meta'))
      await writeFile(join(own, 'meta', '_journal.json'), JSON.stringify({ version: '7', dialect: 'postgresql', entries: [{ idx: 0, version: '7', when: 1, tag: '0000_team', breakpoints: true }] }))
      const team = [{ name: 'team-things', migrations: own }]
      await runMigrations(url, undefined, team)
      await runMigrations(url, undefined, team)
      const table = await adminQuery(url, "SELECT to_regclass('public.team_things') AS t")
      expect(table.rows[0].t).toBe('team_things')
      const applied = await adminQuery(url, 'SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations_team_things')
      expect(applied.rows[0].n).toBe(1)
    } finally {
      await rm(own, { recursive: true, force: true })
    }
  })
})
