import { Ajv } from 'ajv'
import { type TSchema } from 'typebox'
import { ConfigSourceError, readConfigSources, type ConfigSources } from './lib/config-sources.ts'
import { describeAllowed } from './lib/config-describe.ts'
import { ConfigError, list, parseDurations, parseNamedJson, parseProxies } from './lib/config-values.ts'
import { parseStorageUrl } from './lib/storage-url.ts'
import { ConfigSchema, type RawConfig } from './config-schema.ts'

export { ConfigSchema }

/** Config is the validated, nested, frozen settings object every part of Backplane receives. */
export type Config = ReturnType<typeof toConfig>

export { ConfigError }

/** SECRET_KEYS are the settings whose values are masked wherever settings are shown. */
export const SECRET_KEYS = new Set(['BACKPLANE_SECRET', 'DATABASE_URL', 'METRICS_TOKEN', 'REDIS_URL', 'AMQP_URL', 'SMTP_URL', 'STORAGE_URL'])

function toConfig (raw: RawConfig, source: Record<string, string>) {
  const production = raw.BACKPLANE_ENV === 'production'
  return {
    env: raw.BACKPLANE_ENV,
    production,
    secret: raw.BACKPLANE_SECRET,
    dataDir: raw.DATA_DIR,
    http: {
      host: raw.HOST,
      port: raw.PORT,
      publicUrl: raw.PUBLIC_URL,
      bodyLimit: raw.BODY_LIMIT_BYTES,
      jsonMaxDepth: raw.JSON_MAX_DEPTH,
      requestTimeout: raw.REQUEST_TIMEOUT_MS,
      headersTimeout: Math.min(raw.HEADERS_TIMEOUT_MS, raw.REQUEST_TIMEOUT_MS),
      maxUrlLength: raw.MAX_URL_LENGTH,
      keepAliveTimeout: raw.KEEP_ALIVE_TIMEOUT_MS,
      trustProxy: parseProxies(raw.TRUST_PROXY),
      compressionThreshold: raw.COMPRESSION_THRESHOLD_BYTES,
      schemaCompile: raw.SCHEMA_COMPILE
    },
    cors: { origins: list(raw.CORS_ORIGINS), credentials: raw.CORS_CREDENTIALS },
    db: {
      url: raw.DATABASE_URL,
      embedded: raw.DATABASE_URL === undefined,
      embeddedAllowedInProduction: raw.DATABASE_EMBEDDED_OK,
      poolMax: raw.DATABASE_POOL_MAX,
      statementTimeout: raw.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeout: raw.DATABASE_CONNECT_TIMEOUT_MS
    },
    log: {
      level: raw.LOG_LEVEL,
      pretty: raw.LOG_PRETTY,
      file: raw.LOG_FILE,
      fileSize: raw.LOG_FILE_SIZE,
      fileCount: raw.LOG_FILE_COUNT
    },
    metrics: { token: raw.METRICS_TOKEN, enabled: raw.METRICS_TOKEN !== undefined || !production },
    docs: { enabled: raw.DOCS_ENABLED ?? !production },
    /** consoleDir overrides where the built admin console is read from; unset, the package's own build. */
    console: { dir: raw.ADMIN_CONSOLE_DIR },
    redis: { url: raw.REDIS_URL },
    /** namespace prefixes broker names (src/platform/namespace.ts); '' keeps the historical names. */
    namespace: raw.BACKPLANE_NAMESPACE,
    /** workers is the number of worker processes, 'auto' resolved at start (src/cluster/workers.ts). */
    workers: raw.WEB_CONCURRENCY === 'auto' ? 'auto' as const : Number(raw.WEB_CONCURRENCY),
    queue: { amqpUrl: raw.AMQP_URL, concurrency: raw.QUEUE_CONCURRENCY },
    auth: {
      registration: raw.AUTH_REGISTRATION,
      issuer: raw.AUTH_ISSUER,
      audience: raw.AUTH_AUDIENCE,
      accessTtlSeconds: raw.AUTH_ACCESS_TTL_SECONDS,
      refreshIdleDays: raw.AUTH_REFRESH_IDLE_DAYS,
      refreshAbsoluteDays: raw.AUTH_REFRESH_ABSOLUTE_DAYS,
      passwordMinLength: raw.AUTH_PASSWORD_MIN_LENGTH,
      customRoles: parseRoles(raw.AUTH_ROLES),
      requireVerifiedEmail: raw.AUTH_EMAIL_VERIFICATION,
      mfaRequired: raw.AUTH_MFA_REQUIRED,
      mfaIssuer: raw.AUTH_MFA_ISSUER,
      stepUpSeconds: raw.AUTH_STEP_UP_SECONDS,
      linkUrl: (raw.AUTH_LINK_URL ?? raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`).replace(/\/+$/, '')
    },
    mail: { smtpUrl: raw.SMTP_URL, from: raw.MAIL_FROM },
    rateLimit: {
      anonymousPerMinute: raw.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      userPerMinute: raw.RATE_LIMIT_USER_PER_MINUTE,
      apiKeyPerMinute: raw.RATE_LIMIT_API_KEY_PER_MINUTE,
      authPerMinute: raw.RATE_LIMIT_AUTH_PER_MINUTE
    },
    frontends: { rateTiers: parseRateTiers(raw.FRONTEND_RATE_TIERS), reloadSeconds: raw.FRONTENDS_RELOAD_SECONDS },
    events: { retentionHours: raw.EVENTS_RETENTION_HOURS, relayIntervalMs: raw.EVENTS_RELAY_INTERVAL_MS },
    work: {
      tasksMaxPerProject: raw.TASKS_MAX_PER_PROJECT,
      schedulerEnabled: raw.SCHEDULER_ENABLED,
      schedulerIntervalMs: raw.SCHEDULER_INTERVAL_MS,
      agentOfflineAfterSeconds: raw.AGENT_OFFLINE_AFTER_SECONDS,
      leaseSeconds: raw.EXECUTION_LEASE_SECONDS,
      logMaxChars: raw.EXECUTION_LOG_MAX_CHARS
    },
    webhooks: {
      allowPrivate: raw.WEBHOOKS_ALLOW_PRIVATE,
      timeoutMs: raw.WEBHOOKS_TIMEOUT_MS,
      /** retryDelaysMs are the delays before retries 1…n; a delivery gets n + 1 attempts. */
      retryDelaysMs: parseDurations(raw.WEBHOOKS_RETRY_SCHEDULE),
      concurrency: raw.WEBHOOKS_CONCURRENCY,
      perEndpointConcurrency: raw.WEBHOOKS_PER_ENDPOINT_CONCURRENCY,
      maxPerProject: raw.WEBHOOKS_MAX_PER_PROJECT,
      breakerThreshold: raw.WEBHOOKS_BREAKER_THRESHOLD,
      breakerCooldownMs: parseDurations(raw.WEBHOOKS_BREAKER_COOLDOWN)[0]!
    },
    push: {
      subject: raw.PUSH_VAPID_SUBJECT ?? vapidSubjectFrom(raw.PUBLIC_URL),
      allowInsecure: raw.PUSH_ALLOW_INSECURE_ENDPOINTS,
      maxPerUser: raw.PUSH_MAX_SUBSCRIPTIONS_PER_USER,
      timeoutMs: raw.PUSH_TIMEOUT_MS,
      ttlSeconds: raw.PUSH_TTL_SECONDS
    },
    storage: { s3: parseStorageUrl(raw.STORAGE_URL), localAllowedInProduction: raw.STORAGE_LOCAL_OK },
    files: {
      maxBytes: raw.FILES_MAX_BYTES,
      projectQuotaBytes: raw.FILES_PROJECT_QUOTA_BYTES,
      linkTtlSeconds: raw.FILES_LINK_TTL_SECONDS,
      artifactRetentionDays: raw.FILES_ARTIFACT_RETENTION_DAYS,
      uploadTimeoutMs: raw.FILES_UPLOAD_TIMEOUT_MS,
      uploadIdleTimeoutMs: raw.FILES_UPLOAD_IDLE_TIMEOUT_MS
    },
    notifications: {
      retentionDays: raw.NOTIFICATIONS_RETENTION_DAYS,
      digestSeconds: raw.NOTIFICATIONS_DIGEST_SECONDS,
      keyExpiryDays: raw.NOTIFICATIONS_KEY_EXPIRY_DAYS
    },
    shutdown: {
      delay: raw.SHUTDOWN_DELAY_MS ?? (production ? 5000 : 0),
      timeout: raw.SHUTDOWN_TIMEOUT_MS
    },
    /** The flat settings as given, secrets masked, for `backplane config`. */
    effective: maskSettings(raw, source)
  }
}

// A push service wants a way to reach the sender: the public site when it is https, else a mailbox at its host.
function vapidSubjectFrom (publicUrl: string | undefined): string {
  if (publicUrl?.startsWith('https://') === true) return publicUrl.replace(/\/+$/, '')
  let host = 'localhost'
  try { if (publicUrl !== undefined) host = new URL(publicUrl).hostname || host } catch {}
  return `mailto:push@${host}`
}

const isPermissionList = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === 'string' && /^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/.test(p))
const isPerMinute = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1_000_000

function parseRoles (text: string): Record<string, string[]> {
  if (text.trim() === '') return {}
  return parseNamedJson('AUTH_ROLES', text, { entry: 'role', example: 'an object of role names to permission lists, e.g. {"support":["user:read"]}' },
    isPermissionList, 'must list permissions as "resource:action" strings')
}

function parseRateTiers (text: string): Record<string, number> {
  const tiers = parseNamedJson('FRONTEND_RATE_TIERS', text, { entry: 'tier', example: 'tier names to requests per minute, e.g. {"default":600,"high":3000}' },
    isPerMinute, 'must be a whole number of requests per minute from 1 to 1000000')
  // A frontend whose tier was removed from the settings falls back to "default", so it must exist.
  if (tiers.default === undefined) throw new ConfigError('FRONTEND_RATE_TIERS must define a "default" tier, e.g. {"default":600}')
  return tiers
}

function maskSettings (raw: RawConfig, source: Record<string, string>) {
  const out: Record<string, { value: string, from: string }> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = (raw as Record<string, unknown>)[key]
    if (value === undefined) continue
    out[key] = { value: SECRET_KEYS.has(key) ? maskSecret(key, String(value)) : String(value), from: source[key] ?? 'default' }
  }
  return out
}

function maskSecret (key: string, value: string): string {
  if (key === 'DATABASE_URL' || key === 'REDIS_URL' || key === 'AMQP_URL' || key === 'SMTP_URL' || key === 'STORAGE_URL') {
    try {
      const url = new URL(value)
      if (url.password) url.password = '****'
      // The driver also takes the password as a query parameter (?password=…, ?sslpassword=…).
      for (const name of [...url.searchParams.keys()]) {
        if (/password/i.test(name)) url.searchParams.set(name, '****')
      }
      return url.toString()
    } catch { return '****' }
  }
  return '****'
}

function refuseUnsafeProduction (raw: RawConfig): void {
  if (raw.BACKPLANE_ENV !== 'production') return
  if (raw.BACKPLANE_SECRET === undefined) {
    throw new ConfigError('BACKPLANE_SECRET is required when BACKPLANE_ENV=production: set it to at least 32 random characters (e.g. `openssl rand -base64 48`)')
  }
  if (list(raw.CORS_ORIGINS).some((o) => o.includes('*'))) {
    throw new ConfigError('CORS_ORIGINS must not contain a wildcard when BACKPLANE_ENV=production: list each allowed origin exactly')
  }
  if (raw.DATABASE_URL === undefined && !raw.DATABASE_EMBEDDED_OK) {
    throw new ConfigError('DATABASE_URL is required when BACKPLANE_ENV=production: point it at your PostgreSQL server, or set DATABASE_EMBEDDED_OK=true to run the embedded one on purpose')
  }
  if (raw.PUSH_ALLOW_INSECURE_ENDPOINTS) {
    throw new ConfigError('PUSH_ALLOW_INSECURE_ENDPOINTS must be off when BACKPLANE_ENV=production: browsers\' push services are https on the public internet')
  }
  // REDIS_URL is what makes several nodes one deployment; they do not share a local disk.
  if (raw.REDIS_URL !== undefined && raw.STORAGE_URL === undefined && !raw.STORAGE_LOCAL_OK) {
    throw new ConfigError('STORAGE_URL is required when BACKPLANE_ENV=production with REDIS_URL (several nodes): point it at an S3-compatible bucket, or set STORAGE_LOCAL_OK=true if every node shares DATA_DIR')
  }
}

// Value.Convert is too lenient for settings (PORT=1.5 became 1, PORT=true became 1, 0x10 became 16):
// whole numbers must be written in decimal, and booleans as true/false (any case) or 1/0.
// Text that does not parse is left as is, so validation reports it with the value as written.
function parseText (schema: TSchema, text: string): unknown {
  const type = (schema as { type?: string }).type
  const trimmed = text.trim()
  if (type === 'integer') return /^-?[0-9]+$/.test(trimmed) ? Number(trimmed) : text
  if (type === 'boolean') {
    const word = trimmed.toLowerCase()
    if (word === 'true' || word === '1') return true
    if (word === 'false' || word === '0') return false
  }
  return text
}

// Ajv, not typebox/value: Fastify loads Ajv anyway, and typebox/value's 140 modules kept ~7 MB of
// heap alive in every process only to check the settings once (issue 13, idle RSS). useDefaults fills
// the defaults in place as Value.Default did. It returns the first setting that failed, if any.
function firstInvalidSetting (parsed: Record<string, unknown>, properties: Record<string, TSchema>): string | undefined {
  const validate = new Ajv({ useDefaults: true, allErrors: true, strict: false }).compile(ConfigSchema)
  if (validate(parsed)) return undefined
  return validate.errors?.map((error) => error.instancePath.split('/')[1] ?? '').find((key) => properties[key] !== undefined)
}

function readSources (env: Record<string, string | undefined>, options: LoadConfigOptions): ConfigSources {
  try {
    return readConfigSources(env, Object.keys(ConfigSchema.properties), options)
  } catch (err) {
    // A broken settings file is a start-up refusal like a bad variable: callers catch one error type.
    if (err instanceof ConfigSourceError) throw new ConfigError(err.message)
    throw err
  }
}

/** LoadConfigOptions says where the optional `.env` and `backplane.yaml` files are looked up. */
export interface LoadConfigOptions {
  cwd?: string
  /** Skip the `.env` and `backplane.yaml` files (tests pass a complete environment). */
  filesOff?: boolean
}

/**
 * loadConfig validates the settings once: the environment wins over `.env`, which wins over
 * `backplane.yaml`. It is the only reader of process.env and throws ConfigError with one clear line.
 */
export function loadConfig (env: Record<string, string | undefined> = process.env, options: LoadConfigOptions = {}): Config {
  const { values, source } = readSources(env, options)
  const properties = ConfigSchema.properties as Record<string, TSchema>
  const parsed = Object.fromEntries(Object.entries(values).map(([key, text]) => [key, properties[key] ? parseText(properties[key], text) : text]))
  const key = firstInvalidSetting(parsed, properties)
  if (key !== undefined) {
    const shown = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(values[key])
    throw new ConfigError(`${key}=${shown} is not valid (from ${source[key] ?? 'default'}): expected ${describeAllowed(properties[key]!)}`)
  }
  const raw = parsed as RawConfig
  refuseUnsafeProduction(raw)
  return deepFreeze(toConfig(raw, source))
}

function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
