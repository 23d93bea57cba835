import * as http from 'node:http'
import * as https from 'node:https'
import type { Socket } from 'node:net'
import { isAllowedAddress } from './address-policy.ts'
import { checkLiteralHost, guardedLookup, hostOf, parseTargetUrl, TargetRefusal, type Resolver, type TargetPolicy } from './outbound-target.ts'

/** MAX_RESPONSE_BYTES is how much of a response body is read; the rest is never downloaded. */
export const MAX_RESPONSE_BYTES = 64 * 1024
/** EXCERPT_BYTES is how much of the response body the delivery log keeps. */
export const EXCERPT_BYTES = 1024

/** AttemptOutcome: a 2xx, a 410 Gone (disable the endpoint), any other failure (retry), or a refused target (retry: DNS may change back, the owner may fix the URL). */
export type AttemptOutcome = 'success' | 'gone' | 'failure' | 'blocked'

/** AttemptResult is what one POST to an endpoint gave. */
export interface AttemptResult {
  outcome: AttemptOutcome
  statusCode: number | null
  error: string | null
  /** retryAfterMs is the receiver's Retry-After, when it sent a usable one. */
  retryAfterMs: number | null
  excerpt: string | null
  durationMs: number
}

/** SenderSettings bound one attempt and say where it may go. */
export interface SenderSettings { timeoutMs: number, policy: TargetPolicy, resolve: Resolver }

/** parseRetryAfter reads `Retry-After` (seconds or an HTTP date) as milliseconds from now. */
export function parseRetryAfter (value: string | undefined, now = Date.now()): number | null {
  if (value === undefined) return null
  const text = value.trim()
  if (/^[0-9]{1,9}$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

function describe (err: unknown): string {
  if (err instanceof TargetRefusal) return `blocked: ${err.message}`
  const e = err as { code?: unknown, message?: unknown }
  const message = typeof e.message === 'string' ? e.message : String(err)
  const text = typeof e.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message
  return text.slice(0, 500)
}

const clean = (text: string) => text.replaceAll('\u0000', '')

/**
 * sendAttempt POSTs a body once (a signed webhook, an encrypted push message): sockets only to allowed addresses (checked on the
 * literal host, in the lookup, and again on the connected socket), no redirects followed, one
 * deadline for connecting, headers and body, at most 64 KiB of the response read.
 */
export function sendAttempt (target: string, headers: Record<string, string>, body: string | Buffer, settings: SenderSettings): Promise<AttemptResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const result = (outcome: AttemptOutcome, fields: Partial<AttemptResult>): AttemptResult =>
    ({ outcome, statusCode: null, error: null, retryAfterMs: null, excerpt: null, durationMs: elapsed(), ...fields })
  let url: URL
  try {
    url = parseTargetUrl(target, settings.policy)
    checkLiteralHost(url, settings.policy)
  } catch (err) {
    return Promise.resolve(result('blocked', { error: describe(err) }))
  }
  const transport = url.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    let settled = false
    let statusCode: number | null = null
    const kept: Buffer[] = []
    let keptBytes = 0
    const finish = (value: AttemptResult) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      request.destroy()
      resolve(value)
    }
    const excerpt = () => (keptBytes === 0 ? null : clean(Buffer.concat(kept).subarray(0, EXCERPT_BYTES).toString('utf8')))
    const timer = setTimeout(() => {
      const phase = statusCode === null ? 'waiting for the response' : 'reading the response body'
      finish(result('failure', { statusCode, error: `timed out after ${settings.timeoutMs} ms ${phase}`, excerpt: excerpt() }))
    }, settings.timeoutMs)
    const request = transport.request({
      protocol: url.protocol,
      hostname: hostOf(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(settings.policy, settings.resolve),
      // A fresh connection each time: a pooled socket would skip the connect-time check.
      agent: false,
      maxHeaderSize: 16 * 1024
    }, (res) => {
      statusCode = res.statusCode ?? null
      const settle = () => {
        const code = statusCode ?? 0
        const fields = { statusCode, excerpt: excerpt(), retryAfterMs: parseRetryAfter(res.headers['retry-after']) }
        if (code >= 200 && code < 300) finish(result('success', fields))
        else if (code === 410) finish(result('gone', { ...fields, error: 'the endpoint answered 410 Gone' }))
        else if (code >= 300 && code < 400) finish(result('failure', { ...fields, error: `redirect (${code}) not followed; update the endpoint URL` }))
        else finish(result('failure', { ...fields, error: `the endpoint answered ${code}` }))
      }
      let read = 0
      res.on('data', (chunk: Buffer) => {
        read += chunk.length
        if (keptBytes < EXCERPT_BYTES) { kept.push(chunk); keptBytes += chunk.length }
        // Enough: the status is known, and the rest of a huge body is not worth the bandwidth.
        if (read >= MAX_RESPONSE_BYTES) settle()
      })
      res.on('end', settle)
      res.on('error', (err) => { finish(result('failure', { statusCode, error: describe(err), excerpt: excerpt() })) })
    })
    request.on('socket', (socket: Socket) => {
      socket.once('connect', () => {
        const remote = socket.remoteAddress
        if (remote !== undefined && !isAllowedAddress(remote, settings.policy.allowPrivate)) {
          request.destroy(new TargetRefusal(`connected to ${remote}, which Backplane may not send to`))
        }
      })
    })
    request.on('error', (err) => {
      finish(result(err instanceof TargetRefusal ? 'blocked' : 'failure', { statusCode, error: describe(err), excerpt: excerpt() }))
    })
    request.end(body)
  })
}
