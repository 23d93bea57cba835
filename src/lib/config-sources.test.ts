import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../config.ts'
import { ConfigSourceError, readConfigSources } from './config-sources.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'backplane-config-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function files (yaml?: string, dotEnv?: string): Promise<void> {
  if (yaml !== undefined) await writeFile(join(dir, 'backplane.yaml'), yaml)
  if (dotEnv !== undefined) await writeFile(join(dir, '.env'), dotEnv)
}

function refusal (env: Record<string, string> = {}): ConfigError {
  try {
    loadConfig(env, { cwd: dir })
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error('expected a ConfigError')
}

describe('precedence: environment > .env > backplane.yaml > default', () => {
  it('takes each value from the strongest source that sets it', async () => {
    await files(
      'PORT: 7001\nHOST: 0.0.0.0\nLOG_LEVEL: warn\nDOCS_ENABLED: false\n',
      'PORT=7002\nHOST=10.0.0.1\n'
    )
    const config = loadConfig({ PORT: '7003' }, { cwd: dir })
    expect(config.http.port).toBe(7003)
    expect(config.http.host).toBe('10.0.0.1')
    expect(config.log.level).toBe('warn')
    expect(config.docs.enabled).toBe(false)
    expect(config.http.bodyLimit).toBe(1048576)
    expect(config.effective.PORT).toEqual({ value: '7003', from: 'environment' })
    expect(config.effective.HOST).toEqual({ value: '10.0.0.1', from: '.env' })
    expect(config.effective.LOG_LEVEL).toEqual({ value: 'warn', from: 'backplane.yaml' })
    expect(config.effective.DOCS_ENABLED).toEqual({ value: 'false', from: 'backplane.yaml' })
    expect(config.effective.BODY_LIMIT_BYTES).toEqual({ value: '1048576', from: 'default' })
  })

  it('lets an empty environment value fall through to the files', async () => {
    await files('PORT: 7001\n', 'HOST=10.0.0.1\n')
    const config = loadConfig({ PORT: '', HOST: '' }, { cwd: dir })
    expect(config.http.port).toBe(7001)
    expect(config.http.host).toBe('10.0.0.1')
  })

  it('reads no file with filesOff', async () => {
    await files('PORT: 7001\n', 'HOST=10.0.0.1\n')
    const config = loadConfig({}, { cwd: dir, filesOff: true })
    expect(config.http.port).toBe(8080)
    expect(config.http.host).toBe('127.0.0.1')
  })

  it('needs no file at all', () => {
    expect(readConfigSources({ PORT: '1' }, ['PORT', 'HOST'], { cwd: dir })).toEqual({
      values: { PORT: '1' },
      source: { PORT: 'environment' }
    })
  })

  it('names the file a bad value came from', async () => {
    await files('PORT: 99999\n', 'LOG_LEVEL=chatty\n')
    expect(refusal().message).toBe('PORT="99999" is not valid (from backplane.yaml): expected a whole number from 0 to 65535')
    await files('PORT: 80\n')
    expect(refusal().message).toBe('LOG_LEVEL="chatty" is not valid (from .env): expected one of fatal, error, warn, info, debug, trace, silent')
  })
})

describe('backplane.yaml', () => {
  it('refuses an unknown key, naming it', async () => {
    await files('PORT: 8080\nPROT: 9090\n')
    const err = refusal()
    expect(err.message).toBe(`${join(dir, 'backplane.yaml')}: unknown setting PROT (settings use the environment variable names, e.g. PORT)`)
    expect(() => readConfigSources({}, ['PORT'], { cwd: dir })).toThrow(ConfigSourceError)
  })

  it('refuses invalid YAML with one clear line', async () => {
    await files('PORT: [8080\nHOST: x\n')
    const err = refusal()
    expect(err.message).toMatch(new RegExp(`^${join(dir, 'backplane.yaml').replaceAll('.', '\\.')} is not valid YAML: .+`))
    expect(err.message).not.toContain('\n')
    expect(err.message).toMatch(/at line 2, column 1$/)
  })

  it('refuses a duplicated key', async () => {
    await files('PORT: 1\nPORT: 2\n')
    expect(refusal().message).toContain('is not valid YAML')
  })

  it.each([
    ['a list', 'CORS_ORIGINS:\n  - https://a.example\n  - https://b.example\n'],
    ['a mapping', 'DATABASE_URL:\n  host: db\n']
  ])('refuses %s as a value', async (_kind, yaml) => {
    await files(yaml)
    expect(refusal().message).toMatch(/: (CORS_ORIGINS|DATABASE_URL) must be a single value, not a list or mapping$/)
  })

  it('refuses a document that is not a mapping', async () => {
    await files('- PORT\n- HOST\n')
    expect(refusal().message).toBe(`${join(dir, 'backplane.yaml')} must be a mapping of setting names to values (e.g. "PORT: 8080")`)
  })

  it('treats an empty file and empty values as unset', async () => {
    await files('')
    expect(loadConfig({}, { cwd: dir }).http.port).toBe(8080)
    await files('# only a comment\nPORT:\nHOST: ""\n')
    const config = loadConfig({}, { cwd: dir })
    expect(config.http.port).toBe(8080)
    expect(config.http.host).toBe('127.0.0.1')
  })

  it('turns YAML scalars into the same text an environment variable would hold', async () => {
    await files('PORT: 8081\nLOG_PRETTY: true\nCORS_ORIGINS: https://a.example,https://b.example\n')
    const config = loadConfig({}, { cwd: dir })
    expect(config.http.port).toBe(8081)
    expect(config.log.pretty).toBe(true)
    expect(config.cors.origins).toEqual(['https://a.example', 'https://b.example'])
  })

  it('refuses a YAML float where a whole number is needed', async () => {
    await files('PORT: 80.5\n')
    expect(refusal().message).toBe('PORT="80.5" is not valid (from backplane.yaml): expected a whole number from 0 to 65535')
  })
})

describe('.env', () => {
  it('ignores keys Backplane does not know (the file is shared with other tools)', async () => {
    await files(undefined, 'NODE_OPTIONS=--inspect\nPROT=9090\n# comment\nPORT=8181 # inline comment\n')
    const sources = readConfigSources({}, ['PORT', 'HOST'], { cwd: dir })
    expect(sources).toEqual({ values: { PORT: '8181' }, source: { PORT: '.env' } })
    expect(loadConfig({}, { cwd: dir }).http.port).toBe(8181)
  })

  it('reads quoted values', async () => {
    await files(undefined, 'HOST="0.0.0.0"\nCORS_ORIGINS=\'https://a.example\'\n')
    const config = loadConfig({}, { cwd: dir })
    expect(config.http.host).toBe('0.0.0.0')
    expect(config.cors.origins).toEqual(['https://a.example'])
  })
})

describe('effective settings from files', () => {
  it('masks secrets whatever file they came from', async () => {
    await files(
      'BACKPLANE_SECRET: yaml-secret-canary-0123456789abcdef\n',
      'METRICS_TOKEN=env-token-canary-01\nDATABASE_URL=postgres://app:db-password-canary@db.example:5432/app\n'
    )
    const { effective } = loadConfig({}, { cwd: dir })
    expect(effective.BACKPLANE_SECRET).toEqual({ value: '****', from: 'backplane.yaml' })
    expect(effective.METRICS_TOKEN).toEqual({ value: '****', from: '.env' })
    expect(effective.DATABASE_URL).toEqual({ value: 'postgres://app:****@db.example:5432/app', from: '.env' })
    expect(JSON.stringify(effective)).not.toContain('canary')
  })
})
