import { pino, type Logger, type DestinationStream } from 'pino'
import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Config } from '../config.ts'
import { ConfigError } from '../lib/config-values.ts'
import { memoize } from '../lib/memo.ts'
import { batchedLog, type Sink } from './log-destinations.ts'
import { parseLogSize, rotatingLogFile, type LogFileOptions } from './log-file.ts'
import { tracing } from './tracing.ts'

const SECRET_KEYS = [
  'password', 'currentPassword', 'newPassword', 'passwordHash', 'token', 'accessToken', 'refreshToken',
  'idToken', 'secret', 'clientSecret', 'apiKey', 'api_key', 'authorization', 'cookie', 'privateKey', 'BACKPLANE_SECRET', 'DATABASE_URL',
  // Header names, for objects that carry a whole headers map (`{ headers: request.headers }`, a client error's config).
  'x-api-key', 'set-cookie', 'sec-websocket-protocol'
]
const SECRET = new Set(SECRET_KEYS.map((k) => k.toLowerCase()))
// Whether a key names a secret, by the key as written: log lines repeat the same few dozen keys,
// and lower-casing each one on every line was most of the censor's cost.
const isSecretKey = memoize((key) => SECRET.has(key.toLowerCase()))
const CENSOR = '[redacted]'
// Deeper than this a log object is written as given; a secret is never logged that deep in practice.
const MAX_DEPTH = 8

/** redactPaths are the pino redaction paths for request and response headers (every other secret is censored by key, see censorSecrets). */
export const redactPaths = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]'
]

function copyError (err: Error, own: Record<string, unknown>): Error {
  // Keep the prototype, message, stack and cause the error serializer reads; enumerable fields come censored.
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error
  for (const key of ['message', 'stack', 'cause', 'errors'] as const) {
    if (Object.hasOwn(err, key) && !Object.prototype.propertyIsEnumerable.call(err, key)) {
      const value = key === 'errors' ? censorSecrets((err as { errors?: unknown }).errors) : err[key as keyof Error]
      Object.defineProperty(copy, key, { value, writable: true, configurable: true, enumerable: false })
    }
  }
  return Object.assign(copy, own)
}

// Drizzle wraps a failing statement as "Failed query: <sql>\nparams: <values>": the values are
// what the request wrote (password hashes, token hashes, addresses), so they never reach a log.
function isFailedQuery (err: Error): err is Error & { query: string, params: unknown } {
  return typeof (err as { query?: unknown }).query === 'string' && Object.hasOwn(err, 'params')
}

function withoutQueryParams (copy: Error, original: Error & { query: string }): Error {
  const message = `Failed query: ${original.query}\nparams: ${CENSOR}`
  Object.defineProperty(copy, 'message', { value: message, writable: true, configurable: true, enumerable: false })
  if (typeof original.stack === 'string') {
    const stack = original.stack.replace(original.message, message)
    Object.defineProperty(copy, 'stack', { value: stack, writable: true, configurable: true, enumerable: false })
  }
  return copy
}

function censorAt (value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value
  if (ancestors.has(value)) return '[Circular]'
  const isError = value instanceof Error
  const proto = Object.getPrototypeOf(value) as unknown
  const isArray = Array.isArray(value)
  // Class instances (dates, buffers, requests…) have their own serializers or toJSON: left as they are.
  if (!isArray && !isError && proto !== Object.prototype && proto !== null) return value
  ancestors.add(value)
  let changed = isError && Array.isArray((value as { errors?: unknown }).errors)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const inner = (value as Record<string, unknown>)[key]
    const next = isSecretKey(key) && inner !== undefined && inner !== null ? CENSOR : censorAt(inner, depth + 1, ancestors)
    if (next !== inner) changed = true
    out[key] = next
  }
  ancestors.delete(value)
  if (isError && isFailedQuery(value)) {
    out.params = CENSOR
    return withoutQueryParams(copyError(value, out), value)
  }
  if (!changed) return value
  if (isArray) return Object.assign([], out)
  if (isError) return copyError(value, out)
  return proto === null ? Object.assign(Object.create(null) as object, out) : out
}

/**
 * censorSecrets returns a log object with every property named like a secret (password, token,
 * authorization, x-api-key…, any letter case, at any depth up to 8) replaced by "[redacted]". It
 * copies only the objects that change, so a clean log line costs one walk over its keys; pino's
 * own wildcard redaction costs tens of microseconds per line for each `*.key` path.
 */
export function censorSecrets (value: unknown): unknown {
  return censorAt(value, 0, new Set())
}

let lastMs = -1
let lastTime = ''
/**
 * isoTime is pino's `isoTime` (`,"time":"2026-12-04T01:02:03.456Z"`), formatted once per millisecond:
 * under load dozens of lines share a millisecond, and `toISOString` was a third of a line's cost.
 */
export function isoTime (): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastTime = `,"time":"${new Date(now).toISOString()}"`
  }
  return lastTime
}

/** createLogger builds the pino logger: JSON lines through asynchronous destinations, optional pretty output and a rotating file. */
export function createLogger (config: Config, destination?: DestinationStream, level: string = config.log.level): Logger {
  const options = {
    level,
    redact: { paths: redactPaths, censor: CENSOR },
    // Child bindings (`log.child({...})`) skip formatters in pino: bind ids, never payloads.
    formatters: { log: (obj: Record<string, unknown>) => censorSecrets(obj) as Record<string, unknown> },
    base: { service: 'backplane' },
    timestamp: isoTime,
    serializers: {
      req: (req: { method: string, url: string }) => ({ method: req.method, url: req.url.split('?')[0] })
    },
    // A line written inside a span carries `trace_id` and `span_id`; without tracing no mixin runs at all.
    ...(tracing.enabled ? { mixin: () => tracing.logFields() ?? {} } : {})
  }
  if (destination) return pino(options, destination)
  if (config.log.file) checkLogFile(config.log.file)
  if (config.log.pretty) {
    // For humans at a terminal: pino-pretty formats in a worker thread (development only); the
    // file keeps JSON lines, rotated the same way as without LOG_PRETTY.
    const pretty = pino.transport({ target: 'pino-pretty', options: { destination: 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } })
    if (!config.log.file) return pino(options, pretty)
    return pino(options, pino.multistream([{ level: 'trace', stream: pretty }, { level: 'trace', stream: batchedLog([rotatingLogFile(fileOptions(config))]) }]))
  }
  // Asynchronous and batched: a request never waits on a write (synchronous logging halves
  // throughput), and every line is encoded once for all destinations. A worker-thread transport
  // copies every line into shared memory and parses it again there: measured at ~35 µs a request line.
  // In buffer mode sonic-boom takes Buffers (its typings name only strings).
  const stdout = pino.destination({ dest: 1, sync: false, contentMode: 'buffer' }) as unknown as Sink
  const sinks = config.log.file ? [stdout, rotatingLogFile(fileOptions(config))] : [stdout]
  return pino(options, batchedLog(sinks))
}

/**
 * checkLogFile makes LOG_FILE's folder and checks it can be written, at start-up, with a message
 * naming the setting: a failure later would be a stack trace (and leave the embedded PostgreSQL running).
 */
function checkLogFile (file: string): void {
  const dir = dirname(resolve(file))
  try {
    mkdirSync(dir, { recursive: true })
    accessSync(dir, constants.W_OK)
  } catch (err) {
    throw new ConfigError(`LOG_FILE=${JSON.stringify(file)} cannot be written: its folder ${dir} cannot be created or written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`LOG_FILE=${JSON.stringify(file)} is a folder: name a file in it, e.g. ${JSON.stringify(`${file.replace(/\/+$/, '')}/backplane.log`)}`)
  }
}

function fileOptions (config: Config): LogFileOptions {
  return { file: config.log.file!, maxBytes: parseLogSize(config.log.fileSize), keep: config.log.fileCount }
}
