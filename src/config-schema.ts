import { Type, type Static } from 'typebox'

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
  WEBHOOKS_MAX_PER_PROJECT: Int(20, 1, 1000, 'Most webhook endpoints one project may hold')
}, { additionalProperties: true })

/** RawConfig is the settings as validated: flat names, defaults filled in. */
export type RawConfig = Static<typeof ConfigSchema>
