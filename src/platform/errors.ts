import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { createClientAbortLog, isClientAbort } from './client-aborts.ts'

/** AppError is an expected failure with a stable UPPER_SNAKE code, rendered as problem+json. */
export class AppError extends Error {
  override name = 'AppError'
  readonly code: string
  readonly status: number
  readonly detail: string
  readonly fields?: FieldError[]
  readonly headers?: Record<string, string>

  constructor (code: string, status: number, detail: string, extra: { fields?: FieldError[], headers?: Record<string, string>, cause?: unknown } = {}) {
    super(detail, { cause: extra.cause })
    this.code = code
    this.status = status
    this.detail = detail
    this.fields = extra.fields
    this.headers = extra.headers
  }
}

/** FieldError names one invalid input field by its JSON path. */
export interface FieldError { path: string, message: string }

type Catalogue = Record<string, readonly [status: number, title: string]>
/** ErrorExtra is what a raised error may carry besides its detail: the invalid fields, reply headers, the cause. */
export interface ErrorExtra { fields?: FieldError[], headers?: Record<string, string>, cause?: unknown }
type Factories<C extends Catalogue> = { [K in keyof C]: (detail?: string, extra?: ErrorExtra) => AppError }

/**
 * defineErrors turns a module's catalogue `{ CODE: [status, message] }` into typed factories,
 * so `errors.TASK_NOT_FOUND()` throws the same code, status and message everywhere. Codes are
 * raised only through a catalogue (errors-catalogue.test.ts fails on an `AppError` made elsewhere).
 */
export function defineErrors<const C extends Catalogue> (catalogue: C): Factories<C> {
  const out: Record<string, (detail?: string, extra?: ErrorExtra) => AppError> = {}
  for (const [code, [status, title]] of Object.entries(catalogue)) {
    out[code] = (detail?: string, extra?: ErrorExtra) => new AppError(code, status, detail ?? title, extra)
  }
  return out as Factories<C>
}

/** platformErrors are the codes the platform itself raises. */
export const platformErrors = defineErrors({
  NOT_FOUND: [404, 'No route or resource at this address'],
  VALIDATION_FAILED: [400, 'The request is not valid'],
  CONFLICT: [409, 'The request conflicts with existing data'],
  // PostgreSQL text and jsonb cannot hold U+0000: refused at the edge (security.ts) and, should one
  // slip through another way, when the database refuses it (SQLSTATE 22021/22P05).
  NUL_CHARACTER: [400, 'Text must not contain the NUL character (U+0000)'],
  // Nobody reads this reply: it exists so the request line records a client-side status, not a 5xx.
  CLIENT_ABORTED: [400, 'The client closed the connection before the request was complete'],
  URL_TOO_LONG: [414, 'The request URL is longer than this server accepts'],
  SERVICE_UNAVAILABLE: [503, 'A dependency is unavailable; retry shortly'],
  // A deadlock or serialization failure rolled the whole transaction back: the same request is likely to succeed a moment later.
  CONCURRENT_UPDATE: [503, 'The operation collided with concurrent work and was rolled back; retry it'],
  TIMEOUT: [503, 'The operation took too long; retry shortly'],
  CONTENT_ENCODING_UNSUPPORTED: [415, 'Compressed request bodies are not accepted; send plain JSON'],
  JSON_TOO_DEEP: [400, 'JSON nesting is deeper than this server accepts'],
  // Tells a frontend to re-authenticate (POST /api/v1/auth/reauthenticate) and retry (step-up.ts).
  STEP_UP_REQUIRED: [401, 'This action needs a recent sign-in'],
  INTERNAL: [500, 'An unexpected error occurred']
})

/** ProblemDetails is the RFC 9457 body every error reply carries. */
export interface ProblemDetails {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  requestId: string
  errors?: FieldError[]
}

// SQLSTATEs that mean "the database is not there for us right now", not "your request is wrong":
// connection exceptions (08), refused logins (28, 3D000 missing database), resources (53),
// admin/crash shutdown and "cannot connect now" (57P0x), and a database closed to connections (55000).
const UNAVAILABLE_SQLSTATE = /^(08|28|3D000|53|57P0[1-4]|55000)/
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'])

function pgCode (err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
    if (typeof code === 'string' && UNAVAILABLE_NODE_CODES.has(code)) return code
    if (e instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(e.message)) return '08000'
    // node-postgres' own query_timeout (the server never answered: frozen, partitioned) has no code.
    if (e instanceof Error && /^Query read timeout$/.test(e.message)) return '57014'
  }
  return undefined
}

function fromValidation (err: FastifyError): AppError {
  const part = err.validationContext ?? 'body'
  const fields = (err.validation ?? []).map((v) => {
    const extra = v.keyword === 'additionalProperties' ? `/${String((v.params as { additionalProperty?: string }).additionalProperty)}` : ''
    const path = `${part}${v.instancePath}${extra}`.replaceAll('/', '.')
    const message = v.keyword === 'additionalProperties' ? 'is not an allowed property' : (v.message ?? 'is invalid')
    return { path, message }
  })
  const first = fields[0]
  return platformErrors.VALIDATION_FAILED(first ? `${first.path} ${first.message}` : undefined, { fields })
}

/** toAppError maps anything thrown into the one error shape, hiding internals of unexpected errors. */
export function toAppError (err: unknown): AppError {
  if (err instanceof AppError) return err
  // Drizzle wraps what the driver threw ("Failed query: …"): a 503 raised under it stays a 503.
  for (let e = (err as { cause?: unknown } | undefined)?.cause, i = 0; e && i < 3; e = (e as { cause?: unknown }).cause, i++) {
    if (e instanceof AppError && e.status === 503) return e
  }
  const fe = err as FastifyError
  if (fe?.validation) return fromValidation(fe)
  const code = pgCode(err)
  if (code === '23505') return platformErrors.CONFLICT()
  // PostgreSQL cannot store U+0000 in text (22021) or jsonb (22P05): the client's input is at fault, not the server.
  if (code === '22021' || code === '22P05') return platformErrors.NUL_CHARACTER()
  // A deadlock or serialization failure rolled the whole transaction back: nothing was written, and
  // the same request is likely to succeed a moment later (a project deleted while its tasks fire).
  if (code === '40P01' || code === '40001') return platformErrors.CONCURRENT_UPDATE(undefined, { headers: { 'retry-after': '1' } })
  // Every wait that ran out is a 503: a statement (57014, or the client's query timeout mapped to
  // it above), a lock (55P03), an idle transaction or session the server ended (25P03, 57P05); the
  // pool and connect timeouts count as unavailable (08000) below.
  if (code === '57014' || code === '55P03' || code === '25P03' || code === '57P05') return platformErrors.TIMEOUT(undefined, { headers: { 'retry-after': '1' } })
  if (code && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_NODE_CODES.has(code))) {
    return platformErrors.SERVICE_UNAVAILABLE(undefined, { headers: { 'retry-after': '1' } })
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500
  if (status >= 400 && status < 500) {
    // Framework client errors (bad JSON, too large, bad media type) carry safe messages. Their
    // codes are Fastify's (FST_ERR_…, prefix cut): the one place an AppError is made outside a catalogue.
    const frameworkCode = typeof fe.code === 'string' ? fe.code : 'BAD_REQUEST'
    return new AppError(frameworkCode.replace(/^FST_ERR_CTP_/, '').replace(/^FST_ERR_/, ''), status, fe.message)
  }
  if (status === 503) return platformErrors.SERVICE_UNAVAILABLE()
  return platformErrors.INTERNAL()
}

/** renderProblem builds the problem+json body for an AppError on a request. */
export function renderProblem (error: AppError, request: FastifyRequest): ProblemDetails {
  const body: ProblemDetails = {
    type: `urn:backplane:problem:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: STATUS_CODES[error.status] ?? 'Error',
    status: error.status,
    detail: error.detail,
    instance: request.url.split('?')[0] ?? '/',
    code: error.code,
    requestId: request.id
  }
  if (error.fields?.length) body.errors = error.fields
  return body
}

/** sendProblem replies with an AppError as application/problem+json. */
export function sendProblem (reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers)
  return reply.code(error.status).type('application/problem+json; charset=utf-8').send(renderProblem(error, reply.request))
}

// Router errors are raised before any hook runs, so the security baseline is set by hand.
const ROUTER_ERROR_HEADERS = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store'
}

/**
 * handleFrameworkError is meant for the `frameworkErrors` server option: Fastify answers a malformed
 * URL (400) or an over-long path parameter (414) before any hook runs, so without it those replies
 * carry no security headers, no request id, no log line and a non-problem body.
 */
export function handleFrameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const error = toAppError(err)
  reply.headers({ ...ROUTER_ERROR_HEADERS, 'x-request-id': request.id })
  request.log.info({ method: request.method, url: request.url.split('?')[0], status: error.status }, 'request')
  sendProblem(reply, error)
}

/** errors installs the one error handler and the 404 handler; registered first so all later plugins use it. */
export default fp(async function errors (app) {
  const aborts = createClientAbortLog(app.log, { linesPerWindow: 5, windowMs: 10_000 })
  app.addHook('onClose', async () => { aborts.close() })
  app.setErrorHandler(function handleError (err, request, reply) {
    if (isClientAbort(err, request)) {
      aborts.note(request)
      return sendProblem(reply, platformErrors.CLIENT_ABORTED())
    }
    const error = toAppError(err)
    if (error.status >= 500) request.log.error({ err }, 'request failed')
    return sendProblem(reply, error)
  })
  app.setNotFoundHandler(function notFound (request, reply) {
    return sendProblem(reply, platformErrors.NOT_FOUND(`No route for ${request.method} ${request.url.split('?')[0]}`))
  })
}, { name: 'errors' })
