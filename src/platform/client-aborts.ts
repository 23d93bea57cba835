import type { FastifyBaseLogger, FastifyRequest } from 'fastify'

/**
 * isClientAbort tells a client that hung up mid-request (Node's `aborted` ECONNRESET on a destroyed
 * socket) from a failure of ours: the first is routine on the internet, the second needs attention.
 */
export function isClientAbort (err: unknown, request: FastifyRequest): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') && request.raw.destroyed
}

/** AbortLogLimits bound how many client-abort lines one node writes. */
export interface AbortLogLimits {
  /** linesPerWindow aborts are logged one by one per window; the rest are counted. */
  linesPerWindow: number
  windowMs: number
}

/** ClientAbortLog writes client aborts at info level, without stacks, a bounded number per window. */
export interface ClientAbortLog {
  note: (request: FastifyRequest) => void
  close: () => void
}

/**
 * createClientAbortLog logs the first `linesPerWindow` aborts of each window and one summary line for
 * the rest when the window ends: 100 clients hanging up must not write 100 stack traces (a log
 * flood an attacker can cause at will), yet the operator still sees how many there were.
 */
export function createClientAbortLog (log: FastifyBaseLogger, limits: AbortLogLimits): ClientAbortLog {
  let windowStart = 0
  let logged = 0
  let suppressed = 0
  let summary: NodeJS.Timeout | undefined

  const flush = () => {
    summary = undefined
    if (suppressed > 0) log.info({ suppressed, windowMs: limits.windowMs }, `client aborts: ${suppressed} more not logged one by one`)
    suppressed = 0
  }

  return {
    note (request) {
      const now = Date.now()
      if (now - windowStart >= limits.windowMs) {
        windowStart = now
        logged = 0
      }
      if (logged < limits.linesPerWindow) {
        logged++
        request.log.info({ method: request.method, url: request.url.split('?')[0] }, 'client aborted the request')
        return
      }
      suppressed++
      summary ??= setTimeout(flush, windowStart + limits.windowMs - now).unref()
    },
    close () {
      if (summary) clearTimeout(summary)
      flush()
    }
  }
}
