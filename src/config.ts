import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigSourceError, readConfigSources, type ConfigSources } from './lib/config-sources.ts'
import { describeAllowed } from './lib/config-describe.ts'
import { ConfigError, list, parseDurations, parseNamedJson, parseProxies } from './lib/config-values.ts'
import { parseStorageUrl } from './lib/storage-url.ts'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Int = (def: number, min: number, max: number, description: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description })
const Str = (description: string, extra: Record<string, unknown> = {}) =>
  Type.Optional(Type.String({ description, maxLength: 4096, ...extra }))
const OneOf = <T extends string>(values: readonly T[], def: T, description: string) =>
  Type.Union(values.map((v) => Type.Literal(v)), { default: def, description })

/** ConfigSchema is every setting Backplane reads, as flat environment variable names. */
export const ConfigSchema = Type.Object({
  BACKPLANE_ENV: OneOf(['development', 'test', 'production'] as const, 'development', 'Deployment mode; production refuses unsafe settings'),
  BACKPLANE_SECRET: Str('Master secret (at least 32 characters) that protects signing keys and stored secrets', { minLength: 32 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, maxLength: 255, description: 'Interface to listen on (0.0.0.0 in containers)' }),
  PORT: Int(8080, 0, 65535, 'HTTP port'),
  PUBLIC_URL: Str('Public base URL, used in links and the OpenAPI servers list', { pattern: '^https?://[^\\s]+$' }),
  DATA_DIR: Type.String({ default: './data', minLength: 1, maxLength: 1024, description: 'Where the embedded database and other local state live' }),
  DATABASE_URL: Str('PostgreSQL connection string; unset runs the embedded PostgreSQL under DATA_DIR', { pattern: '^postgres(ql)?://' }),
  DATABASE_POOL_MAX: Int(10, 1, 1000, 'Connections per node in the pool'),
  DATABASE_STATEMENT_TIMEOUT_MS: Int(15000, 100, 600000, 'Longest a single SQL statement may run'),
  DATABASE_CONNECT_TIMEOUT_MS: Int(5000, 100, 120000, 'Longest to wait for a new database connection'),
  DATABASE_EMBEDDED_OK: Bool(false, 'Allow the embedded database when BACKPLANE_ENV=production'),
  CORS_ORIGINS: Type.String({ default: '', maxLength: 8192, description: 'Comma-separated browser origins allowed to call the API (exact match)' }),
  CORS_CREDENTIALS: Bool(true, 'Allow cookies and Authorization headers on cross-origin requests'),
  TRUST_PROXY: Type.String({ default: '', maxLength: 4096, description: 'Comma-separated proxy addresses or CIDRs whose X-Forwarded-* headers are trusted' }),
  BODY_LIMIT_BYTES: Int(1048576, 1024, 104857600, 'Largest request body accepted'),
  JSON_MAX_DEPTH: Int(32, 2, 256, 'Deepest nesting accepted in a JSON body'),
  REQUEST_TIMEOUT_MS: Int(30000, 1000, 600000, 'Longest time to receive a whole request'),
  HEADERS_TIMEOUT_MS: Int(10000, 1000, 600000, 'Longest time to receive request headers'),
  MAX_URL_LENGTH: Int(4096, 256, 65536, 'Longest request URL (path and query) accepted; longer ones are answered 414'),
  KEEP_ALIVE_TIMEOUT_MS: Int(72000, 1000, 600000, 'Idle keep-alive time; keep it above your load balancer idle timeout'),
  SHUTDOWN_DELAY_MS: Type.Optional(Type.Integer({ minimum: 0, maximum: 120000, description: 'Time between readiness turning 503 and closing the listener (default 0, 5000 in production)' })),
  SHUTDOWN_TIMEOUT_MS: Int(20000, 1000, 600000, 'Budget for a graceful shutdown before a forced exit'),
  LOG_LEVEL: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', 'Log level'),
  LOG_PRETTY: Bool(false, 'Human-readable logs instead of JSON lines'),
  LOG_FILE: Str('Also write logs to this file, rotated by size'),
  LOG_FILE_SIZE: Type.String({ default: '10m', pattern: '^[0-9]+[kmg]?$', description: 'Size at which LOG_FILE rotates (e.g. 10m)' }),
  LOG_FILE_COUNT: Int(5, 1, 1000, 'Rotated log files kept'),
  METRICS_TOKEN: Str('Bearer token required for /metrics; without it /metrics is public except in production, where it is off', { minLength: 16 }),
  ADMIN_CONSOLE_DIR: Str('Folder of the built admin console served at /admin (default: the package\'s dashboard/dist)'),
  DOCS_ENABLED: Type.Optional(Type.Boolean({ description: 'Serve /openapi.json and /docs (default on, off in production)' })),
  COMPRESSION_THRESHOLD_BYTES: Int(1024, 0, 104857600, 'Replies larger than this are compressed when the client accepts it'),
  SCHEMA_COMPILE: OneOf(['lazy', 'eager'] as const, 'lazy', 'When route validators and response serializers are compiled: lazy on first use (faster start, less memory), eager at start-up'),
  BACKPLANE_NAMESPACE: Type.String({ default: '', pattern: '^([a-z0-9][a-z0-9_-]{0,39})?$', description: 'Prefix of every Redis key and channel and every RabbitMQ exchange and queue, so deployments can share one Redis and one RabbitMQ (lower-case letters, digits, _ and -)' }),
  WEB_CONCURRENCY: Type.String({ default: '1', pattern: '^(auto|[1-9][0-9]{0,2})$', description: 'Worker processes serving one port (`auto`: one per CPU); `backplane start --workers N` overrides it' }),
  REDIS_URL: Str('Redis connection string; set it to share cache invalidation, rate limits and events across nodes', { pattern: '^rediss?://' }),
  AMQP_URL: Str('RabbitMQ connection string; set it to run jobs on RabbitMQ instead of pg-boss in the database', { pattern: '^amqps?://' }),
  QUEUE_CONCURRENCY: Int(4, 1, 1000, 'Jobs of one kind a node runs at once, unless the job kind sets its own'),
  AUTH_REGISTRATION: OneOf(['open', 'invite', 'closed'] as const, 'open', 'Who may create an account: anyone, invited emails only, or nobody (admins create users)'),
  AUTH_ISSUER: Type.String({ default: 'backplane', minLength: 1, maxLength: 255, description: 'The iss claim of access tokens' }),
  AUTH_AUDIENCE: Type.String({ default: 'backplane', minLength: 1, maxLength: 255, description: 'The default aud claim of access tokens' }),
  AUTH_ACCESS_TTL_SECONDS: Int(900, 60, 86400, 'Lifetime of an access token'),
  AUTH_REFRESH_IDLE_DAYS: Int(7, 1, 365, 'A session unused this long ends'),
  AUTH_REFRESH_ABSOLUTE_DAYS: Int(30, 1, 3650, 'A session ends this long after sign-in, however active'),
  AUTH_PASSWORD_MIN_LENGTH: Int(12, 8, 128, 'Shortest password accepted (code points)'),
  AUTH_ROLES: Type.String({ default: '', maxLength: 16384, description: 'Custom roles as JSON: {"support":["user:read","audit:read"]}' }),
  AUTH_EMAIL_VERIFICATION: Bool(false, 'Require a verified email before sign-in'),
  AUTH_MFA_REQUIRED: OneOf(['off', 'admins', 'all'] as const, 'off', 'Who must sign in with a second factor (TOTP); an unenrolled user is led through enrolment before getting a session'),
  AUTH_MFA_ISSUER: Type.String({ default: 'Backplane', minLength: 1, maxLength: 64, description: 'The issuer name authenticator apps show next to TOTP codes' }),
  AUTH_STEP_UP_SECONDS: Int(600, 30, 86400, 'Sensitive actions (email, password, MFA, passkeys, admin API keys, deletions) need a sign-in or re-authentication at most this long ago'),
  AUTH_LINK_URL: Str('Base URL of the frontend pages mailed links open (/verify-email, /reset-password, /register, /confirm-email-change, each with ?token=); default PUBLIC_URL', { pattern: '^https?://[^\\s]+$' }),
  SMTP_URL: Str('SMTP server for outgoing mail (smtp:// or smtps://); unset logs mail instead of sending it', { pattern: '^smtps?://' }),
  MAIL_FROM: Type.String({ default: 'Backplane <no-reply@localhost>', maxLength: 320, description: 'From address of outgoing mail' }),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: Int(100, 1, 1000000, 'Requests per minute per client IP without credentials'),
  RATE_LIMIT_USER_PER_MINUTE: Int(600, 1, 1000000, 'Requests per minute per signed-in user'),
  RATE_LIMIT_API_KEY_PER_MINUTE: Int(1200, 1, 1000000, 'Requests per minute per API key'),
  RATE_LIMIT_AUTH_PER_MINUTE: Int(10, 1, 1000000, 'Login, register, refresh and forgot-password attempts per minute per client IP'),
  FRONTEND_RATE_TIERS: Type.String({ default: '{"low":60,"default":600,"high":3000}', maxLength: 4096, description: 'Frontend rate tiers as JSON, name to requests per minute per caller (user, API key or IP) of that frontend; must define "default"' }),
  FRONTENDS_RELOAD_SECONDS: Int(30, 1, 3600, 'How often each node reloads the frontend registry as a safety net (changes reach every node at once through pubsub)'),
  TASKS_MAX_PER_PROJECT: Int(100, 1, 100000, 'Most tasks one project may hold'),
  EVENTS_RETENTION_HOURS: Int(24, 1, 8760, 'How long published events are kept for replay to reconnecting clients'),
  EVENTS_RELAY_INTERVAL_MS: Int(200, 20, 60000, 'How often the event relay looks for committed events to publish'),
  SCHEDULER_ENABLED: Bool(true, 'Run the task scheduler on this node (every node may; each slot fires once)'),
  SCHEDULER_INTERVAL_MS: Int(1000, 100, 60000, 'How often the scheduler looks for due tasks'),
  AGENT_OFFLINE_AFTER_SECONDS: Int(60, 5, 86400, 'An agent without a heartbeat for this long is offline'),
  EXECUTION_LEASE_SECONDS: Int(60, 5, 86400, 'A running execution whose agent has not reported for this long times out (heartbeats extend it)'),
  EXECUTION_LOG_MAX_CHARS: Int(262144, 1024, 16777216, 'Most log text kept per execution, in characters (the oldest text is dropped first)'),
  WEBHOOKS_ALLOW_PRIVATE: Bool(false, 'Let webhooks reach loopback, private and link-local addresses (cloud metadata stays blocked)'),
  WEBHOOKS_TIMEOUT_MS: Int(10000, 100, 60000, 'Longest a webhook attempt may take, connection to last byte read'),
  WEBHOOKS_RETRY_SCHEDULE: Type.String({ default: '5s,30s,2m,10m,30m,1h,3h', pattern: '^ *[0-9]+(ms|s|m|h) *(, *[0-9]+(ms|s|m|h) *){0,19}$', maxLength: 400, description: 'Delays before each webhook retry (jittered between half and all of each); attempts = entries + 1' }),
  WEBHOOKS_CONCURRENCY: Int(16, 1, 1000, 'Webhook attempts a node runs at once'),
  WEBHOOKS_PER_ENDPOINT_CONCURRENCY: Int(2, 1, 100, 'Attempts in flight to one endpoint across all nodes'),
  WEBHOOKS_MAX_PER_PROJECT: Int(20, 1, 1000, 'Most webhook endpoints one project may hold'),
  WEBHOOKS_BREAKER_THRESHOLD: Int(5, 1, 100, 'Failed attempts in a row (no answer, 5xx, 429) that open an endpoint\'s circuit breaker'),
  WEBHOOKS_BREAKER_COOLDOWN: Type.String({ default: '30s', pattern: '^ *[0-9]+(ms|s|m|h) *$', maxLength: 20, description: 'How long an endpoint\'s open breaker defers its deliveries before one probe; doubles after each failed probe, up to 10 min' }),
  STORAGE_URL: Str('S3-compatible store for files: s3://KEY:SECRET@host[:port]/bucket[/prefix]?region=…&path_style=true (s3+http:// without TLS); unset keeps files on local disk under DATA_DIR/files', { pattern: '^s3(\\+https?)?://' }),
  STORAGE_LOCAL_OK: Bool(false, 'Allow files on local disk when BACKPLANE_ENV=production with REDIS_URL set (several nodes do not share a disk)'),
  FILES_MAX_BYTES: Int(104857600, 1, 5497558138880, 'Largest file one upload may hold'),
  FILES_PROJECT_QUOTA_BYTES: Int(1073741824, 1, 1125899906842624, 'Total bytes of files one project may hold (its files, task attachments and run artifacts)'),
  FILES_LINK_TTL_SECONDS: Int(300, 10, 86400, 'Lifetime of a signed download link'),
  FILES_ARTIFACT_RETENTION_DAYS: Int(30, 1, 36500, 'Run artifacts older than this are deleted')
}, { additionalProperties: true })

type RawConfig = Static<typeof ConfigSchema>

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
    storage: { s3: parseStorageUrl(raw.STORAGE_URL), localAllowedInProduction: raw.STORAGE_LOCAL_OK },
    files: {
      maxBytes: raw.FILES_MAX_BYTES,
      projectQuotaBytes: raw.FILES_PROJECT_QUOTA_BYTES,
      linkTtlSeconds: raw.FILES_LINK_TTL_SECONDS,
      artifactRetentionDays: raw.FILES_ARTIFACT_RETENTION_DAYS
    },
    shutdown: {
      delay: raw.SHUTDOWN_DELAY_MS ?? (production ? 5000 : 0),
      timeout: raw.SHUTDOWN_TIMEOUT_MS
    },
    /** The flat settings as given, secrets masked, for `backplane config`. */
    effective: maskSettings(raw, source)
  }
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
  const converted = Value.Default(ConfigSchema, parsed) as Record<string, unknown>
  for (const error of Value.Errors(ConfigSchema, converted)) {
    const key = error.instancePath.split('/')[1] ?? ''
    const schema = properties[key]
    if (!schema) continue
    const shown = SECRET_KEYS.has(key) ? '(hidden)' : JSON.stringify(values[key])
    throw new ConfigError(`${key}=${shown} is not valid (from ${source[key] ?? 'default'}): expected ${describeAllowed(schema)}`)
  }
  const raw = converted as RawConfig
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
