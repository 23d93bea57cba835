import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { BenchDatabase } from './database.ts'
import { settingsFreeEnv } from './proc.ts'

/** ORIGIN is a browser frontend's origin, listed in CORS_ORIGINS: every benchmark request takes the CORS path. */
export const ORIGIN = 'https://app.example.test'

/**
 * backplaneEnv is the environment of the Backplane child (lib/backplane-server.ts): production mode,
 * the request log at info in a rotating file under logDir, the rate limiter on with the largest
 * budget, and nothing else from the caller's Backplane settings; extra adds or overrides settings.
 */
export function backplaneEnv (database: BenchDatabase, logDir: string, logMode: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return settingsFreeEnv({
    ...database.settings,
    BACKPLANE_ENV: 'production',
    BACKPLANE_SECRET: randomBytes(36).toString('base64url'),
    METRICS_TOKEN: randomBytes(24).toString('base64url'),
    SHUTDOWN_DELAY_MS: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    CORS_ORIGINS: ORIGIN,
    // BENCH_LOG_LEVEL=warn measures the pipeline without its request log line (diagnosis only).
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    // The limiter stays on (its per-IP counting is part of the pipeline) with the largest budget
    // allowed, so one load generator on one IP is never answered 429.
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000',
    LOG_FILE: join(logDir, 'backplane.log'),
    // Keep every rotated file so the lines can be counted afterwards.
    LOG_FILE_COUNT: '1000',
    BENCH_LOG_MODE: logMode,
    ...extra
  })
}

/**
 * startNodeFlags are the Node flags `npm start` runs Backplane with (read from package.json's start
 * script), so a benchmark's Backplane child runs with the same heap settings as production.
 */
export function startNodeFlags (): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
  return pkg.scripts.start.split(' ').filter((word) => word.startsWith('--'))
}

// Headers every reply makes anew (or the connection's own): the floor sends its own.
const PER_REPLY = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type', 'x-request-id'])

/**
 * contractHeaders are the response headers of one Backplane reply that any server with its contract
 * sends (security headers, CORS, RateLimit…), without the per-reply ones: what a floor server copies.
 */
export function contractHeaders (headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => !PER_REPLY.has(name)))
}
