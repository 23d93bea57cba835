import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'

const SECRET = 's3cret-'.repeat(6) // 42 characters
const prod = { BACKPLANE_ENV: 'production', BACKPLANE_SECRET: SECRET, DATABASE_URL: 'postgres://app@db.internal/app' }

function load (env: Record<string, string>) {
  return loadConfig(env, { filesOff: true })
}

function refusal (env: Record<string, string>): ConfigError {
  try {
    load(env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return err as ConfigError
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`)
}

describe('loadConfig defaults', () => {
  it('works with no settings at all (development, embedded database)', () => {
    const config = load({})
    expect(config.env).toBe('development')
    expect(config.production).toBe(false)
    expect(config.secret).toBeUndefined()
    expect(config.dataDir).toBe('./data')
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 8080, bodyLimit: 1048576, jsonMaxDepth: 32, trustProxy: [] })
    expect(config.db).toMatchObject({ url: undefined, embedded: true, embeddedAllowedInProduction: false, poolMax: 10 })
    expect(config.cors).toEqual({ origins: [], credentials: true })
    expect(config.log).toMatchObject({ level: 'info', pretty: false })
    expect(config.shutdown).toEqual({ delay: 0, timeout: 20000 })
    expect(config.docs.enabled).toBe(true)
    expect(config.metrics).toEqual({ token: undefined, enabled: true })
  })

  it('changes the production defaults: shutdown delay 5000, docs off, metrics off without a token', () => {
    const config = load(prod)
    expect(config.production).toBe(true)
    expect(config.shutdown.delay).toBe(5000)
    expect(config.docs.enabled).toBe(false)
    expect(config.metrics.enabled).toBe(false)
    expect(config.db).toMatchObject({ embedded: false, url: prod.DATABASE_URL })
  })

  it('turns metrics on in production when METRICS_TOKEN is set, and keeps explicit values', () => {
    const config = load({ ...prod, METRICS_TOKEN: 'm'.repeat(16), DOCS_ENABLED: 'true', SHUTDOWN_DELAY_MS: '0' })
    expect(config.metrics).toEqual({ token: 'm'.repeat(16), enabled: true })
    expect(config.docs.enabled).toBe(true)
    expect(config.shutdown.delay).toBe(0)
  })

  it('parses values into numbers, booleans and lists', () => {
    const config = load({
      PORT: '0',
      HOST: '0.0.0.0',
      BODY_LIMIT_BYTES: '2048',
      CORS_ORIGINS: ' https://a.example , https://b.example ,',
      TRUST_PROXY: '10.0.0.0/8',
      REQUEST_TIMEOUT_MS: '5000',
      HEADERS_TIMEOUT_MS: '9000',
      LOG_PRETTY: 'true',
      CORS_CREDENTIALS: 'false'
    })
    expect(config.http).toMatchObject({ port: 0, host: '0.0.0.0', bodyLimit: 2048, trustProxy: ['10.0.0.0/8'], requestTimeout: 5000 })
    // Headers can never be given longer than the whole request.
    expect(config.http.headersTimeout).toBe(5000)
    expect(config.cors).toEqual({ origins: ['https://a.example', 'https://b.example'], credentials: false })
    expect(config.log.pretty).toBe(true)
  })

  it('treats an empty value as unset', () => {
    const config = load({ DATA_DIR: '', PORT: '', HOST: '', DATABASE_URL: '', BACKPLANE_SECRET: '' })
    expect(config.dataDir).toBe('./data')
    expect(config.http.port).toBe(8080)
    expect(config.http.host).toBe('127.0.0.1')
    expect(config.db.embedded).toBe(true)
    expect(config.secret).toBeUndefined()
  })

  it('ignores variables it does not know (process.env holds many)', () => {
    expect(load({ PATH: '/usr/bin', HOME: '/root', BACKPLANE_TYPO: 'x' }).http.port).toBe(8080)
  })
})

describe('the returned Config', () => {
  it('is deeply frozen', () => {
    const config = load({})
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.http.trustProxy)).toBe(true)
    expect(Object.isFrozen(config.effective.PORT)).toBe(true)
    expect(() => { (config as { env: string }).env = 'production' }).toThrow(TypeError)
    expect(() => { (config.http as { port: number }).port = 1 }).toThrow(TypeError)
    expect(() => { (config.cors.origins as string[]).push('*') }).toThrow(TypeError)
    expect(() => { (config.effective as Record<string, unknown>).PORT = { value: '1', from: 'x' } }).toThrow(TypeError)
    expect(config.http.port).toBe(8080)
  })
})

describe('bad values', () => {
  it.each([
    ['PORT', 'abc', 'a whole number from 0 to 65535'],
    ['PORT', '70000', 'a whole number from 0 to 65535'],
    ['PORT', '-1', 'a whole number from 0 to 65535'],
    ['PORT', '1.5', 'a whole number from 0 to 65535'],
    ['PORT', '0x10', 'a whole number from 0 to 65535'],
    ['PORT', '1e3', 'a whole number from 0 to 65535'],
    ['PORT', 'true', 'a whole number from 0 to 65535'],
    ['LOG_LEVEL', 'loud', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['BACKPLANE_ENV', 'staging', 'one of development, test, production'],
    ['BODY_LIMIT_BYTES', '1', 'a whole number from 1024 to 104857600'],
    ['SHUTDOWN_DELAY_MS', 'soon', 'a whole number from 0 to 120000'],
    ['PUBLIC_URL', 'ftp://files.example', 'an http:// or https:// URL'],
    ['LOG_PRETTY', 'yes', 'true or false (1 or 0 also work)'],
    ['DOCS_ENABLED', 'on', 'true or false (1 or 0 also work)']
  ])('%s=%s stops with one line naming the variable and what is allowed', (key, value, allowed) => {
    const err = refusal({ [key]: value })
    expect(err.name).toBe('ConfigError')
    expect(err.message).toBe(`${key}=${JSON.stringify(value)} is not valid (from environment): expected ${allowed}`)
    expect(err.message).not.toContain('\n')
  })

  it('hides the value of a bad DATABASE_URL (it may hold a password)', () => {
    const err = refusal({ DATABASE_URL: 'mysql://root:hunter2@db.example/app' })
    expect(err.message).toBe('DATABASE_URL=(hidden) is not valid (from environment): expected a postgres:// or postgresql:// URL')
    expect(err.message).not.toContain('hunter2')
    expect(err.message).not.toContain('mysql')
  })

  it('hides the value of a short BACKPLANE_SECRET or METRICS_TOKEN', () => {
    const secret = refusal({ BACKPLANE_SECRET: 'tooshort-canary' })
    expect(secret.message).toBe('BACKPLANE_SECRET=(hidden) is not valid (from environment): expected at least 32 characters')
    const token = refusal({ METRICS_TOKEN: 'tiny-canary' })
    expect(token.message).toBe('METRICS_TOKEN=(hidden) is not valid (from environment): expected at least 16 characters')
    expect(secret.message + token.message).not.toContain('canary')
  })

  it('keeps a value with a newline on one line', () => {
    const err = refusal({ LOG_LEVEL: 'info\nFAKE LOG LINE' })
    expect(err.message).not.toContain('\n')
    expect(err.message).toContain('LOG_LEVEL="info\\nFAKE LOG LINE"')
  })
})

describe('TRUST_PROXY', () => {
  it('accepts addresses, CIDR ranges, IPv4 netmasks and the named ranges', () => {
    const value = '10.0.0.0/8, 192.168.1.10, ::1, fd00::/8, 172.16.0.0/255.240.0.0, loopback, linklocal, uniquelocal'
    expect(load({ TRUST_PROXY: value }).http.trustProxy).toEqual(value.split(',').map((s) => s.trim()))
  })

  it.each(['notanip', '10.0.0.0/99', '10.0.0.0/0', '::1/129', '10.0.0.0/8/8', '10.0.0.0/255.0.255.0', 'example.com', '10.0.0.0/'])(
    'refuses %s at start-up with one line naming the setting', (entry) => {
      const err = refusal({ TRUST_PROXY: `10.0.0.1,${entry}` })
      expect(err.message).toBe(`TRUST_PROXY: "${entry}" is not an IP address or CIDR range: expected a comma-separated list such as 10.0.0.0/8,192.168.1.10 (or loopback, linklocal, uniquelocal)`)
    })
})

describe('boolean spellings', () => {
  it.each([
    ['true', true], ['TRUE', true], ['True', true], ['1', true],
    ['false', false], ['FALSE', false], ['0', false]
  ])('accepts %s as %s', (text, value) => {
    expect(load({ LOG_PRETTY: text }).log.pretty).toBe(value)
    expect(load({ DOCS_ENABLED: text }).docs.enabled).toBe(value)
  })

  it.each(['yes', 'no', 'on', 'off', 'y', '2', 'truthy'])('refuses %s', (text) => {
    expect(refusal({ CORS_CREDENTIALS: text }).message).toContain('CORS_CREDENTIALS=')
  })
})

describe('production refuses unsafe settings', () => {
  it('needs BACKPLANE_SECRET and says how to make one', () => {
    const { BACKPLANE_SECRET: _, ...noSecret } = prod
    expect(refusal(noSecret).message).toBe('BACKPLANE_SECRET is required when BACKPLANE_ENV=production: set it to at least 32 random characters (e.g. `openssl rand -base64 48`)')
  })

  it('needs a BACKPLANE_SECRET of at least 32 characters', () => {
    const err = refusal({ ...prod, BACKPLANE_SECRET: 'x'.repeat(31) })
    expect(err.message).toBe('BACKPLANE_SECRET=(hidden) is not valid (from environment): expected at least 32 characters')
    expect(load({ ...prod, BACKPLANE_SECRET: 'x'.repeat(32) }).secret).toBe('x'.repeat(32))
  })

  it.each(['*', 'https://*.example.com', 'https://app.example.com,*'])('refuses the wildcard CORS_ORIGINS=%s', (origins) => {
    expect(refusal({ ...prod, CORS_ORIGINS: origins }).message).toBe(
      'CORS_ORIGINS must not contain a wildcard when BACKPLANE_ENV=production: list each allowed origin exactly'
    )
  })

  it('allows a wildcard outside production', () => {
    expect(load({ CORS_ORIGINS: '*' }).cors.origins).toEqual(['*'])
  })

  it('refuses the embedded database unless DATABASE_EMBEDDED_OK=true, and accepts DATABASE_URL', () => {
    const { DATABASE_URL: _, ...embedded } = prod
    expect(refusal(embedded).message).toBe(
      'DATABASE_URL is required when BACKPLANE_ENV=production: point it at your PostgreSQL server, or set DATABASE_EMBEDDED_OK=true to run the embedded one on purpose'
    )
    expect(refusal({ ...embedded, DATABASE_EMBEDDED_OK: 'false' }).message).toContain('DATABASE_EMBEDDED_OK=true')
    const optedIn = load({ ...embedded, DATABASE_EMBEDDED_OK: 'true' })
    expect(optedIn.db).toMatchObject({ embedded: true, embeddedAllowedInProduction: true })
    expect(load(prod).db).toMatchObject({ embedded: false, url: 'postgres://app@db.internal/app' })
  })

  it('refuses PUSH_ALLOW_INSECURE_ENDPOINTS, which only local push service stand-ins need', () => {
    expect(refusal({ ...prod, PUSH_ALLOW_INSECURE_ENDPOINTS: 'true' }).message).toContain('PUSH_ALLOW_INSECURE_ENDPOINTS must be off when BACKPLANE_ENV=production')
    expect(load({ PUSH_ALLOW_INSECURE_ENDPOINTS: 'true' }).push.allowInsecure).toBe(true)
  })

  it.each([
    [{}, 'mailto:push@localhost'],
    [{ PUBLIC_URL: 'https://api.example.com/' }, 'https://api.example.com'],
    [{ PUBLIC_URL: 'http://backplane.lan:8080' }, 'mailto:push@backplane.lan'],
    [{ PUBLIC_URL: 'https://api.example.com', PUSH_VAPID_SUBJECT: 'mailto:ops@example.com' }, 'mailto:ops@example.com']
  ])('derives the VAPID subject from %o as %s', (env, subject) => {
    expect(load(env).push.subject).toBe(subject)
  })

  it('refuses a VAPID subject that is neither mailto: nor https:', () => {
    expect(refusal({ PUSH_VAPID_SUBJECT: 'http://example.com' }).message).toContain('PUSH_VAPID_SUBJECT=')
  })

  it('accepts a complete production configuration', () => {
    const config = load({ ...prod, CORS_ORIGINS: 'https://app.example.com', PUBLIC_URL: 'https://api.example.com' })
    expect(config.cors.origins).toEqual(['https://app.example.com'])
    expect(config.http.publicUrl).toBe('https://api.example.com')
  })
})

describe('effective settings', () => {
  it('reports each value with where it came from, secrets masked', () => {
    const config = load({
      PORT: '9000',
      BACKPLANE_SECRET: SECRET,
      METRICS_TOKEN: 'metrics-token-canary',
      DATABASE_URL: 'postgres://app:hunter2@db.example.com:5432/app?sslmode=require&sslpassword=keypass'
    })
    expect(config.effective.PORT).toEqual({ value: '9000', from: 'environment' })
    expect(config.effective.HOST).toEqual({ value: '127.0.0.1', from: 'default' })
    expect(config.effective.BACKPLANE_SECRET).toEqual({ value: '****', from: 'environment' })
    expect(config.effective.METRICS_TOKEN).toEqual({ value: '****', from: 'environment' })
    expect(config.effective.DATABASE_URL).toEqual({
      value: 'postgres://app:****@db.example.com:5432/app?sslmode=require&sslpassword=****',
      from: 'environment'
    })
    const text = JSON.stringify(config.effective)
    for (const secret of [SECRET, 'metrics-token-canary', 'hunter2', 'keypass']) expect(text).not.toContain(secret)
    // The real values are still there for the app to use.
    expect(config.secret).toBe(SECRET)
    expect(config.db.url).toContain('hunter2')
  })

  it('masks a DATABASE_URL password given as a query parameter, and a URL it cannot parse', () => {
    expect(load({ DATABASE_URL: 'postgres://db.example/app?user=app&password=hunter2' }).effective.DATABASE_URL?.value)
      .toBe('postgres://db.example/app?user=app&password=****')
    expect(load({ DATABASE_URL: 'postgres://app:hunter2@[bad' }).effective.DATABASE_URL?.value).toBe('****')
  })

  it('masks the passwords in REDIS_URL, AMQP_URL and SMTP_URL', () => {
    const { effective } = load({
      REDIS_URL: 'redis://:redis-canary@127.0.0.1:6379/0',
      AMQP_URL: 'amqp://guest:amqp-canary@127.0.0.1:5672',
      SMTP_URL: 'smtps://mailer:smtp-canary@mail.example:465'
    })
    expect(effective.REDIS_URL?.value).toBe('redis://:****@127.0.0.1:6379/0')
    expect(effective.AMQP_URL?.value).toBe('amqp://guest:****@127.0.0.1:5672')
    expect(effective.SMTP_URL?.value).toBe('smtps://mailer:****@mail.example:465')
    expect(JSON.stringify(effective)).not.toContain('canary')
  })

  it('leaves out unset optional settings and shows parsed values', () => {
    const config = load({ LOG_PRETTY: '1' })
    expect(config.effective.LOG_PRETTY).toEqual({ value: 'true', from: 'environment' })
    expect(config.effective.DATABASE_URL).toBeUndefined()
    expect(config.effective.SHUTDOWN_DELAY_MS).toBeUndefined()
  })
})
