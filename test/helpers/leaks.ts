import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'

// What must never leave the server (SECURITY.md AZ-06): password hashes, the names of the secret
// columns and fields, token hashes and private keys.
const SECRET_MARKERS = ['$argon2', 'passwordHash', 'password_hash', 'token_hash', 'tokenHash', 'private_key', 'privateKey', 'PRIVATE KEY']

/**
 * secretsIn returns the secret markers found in a response (body and headers). A marker the request
 * itself carried is not counted: a validation error may name the field the client sent
 * (`body.passwordHash is not an allowed property`), which reveals nothing the client did not know.
 */
export function secretsIn (res: LightMyRequestResponse, sent = ''): string[] {
  const text = `${res.body}\n${JSON.stringify(res.headers)}`
  return SECRET_MARKERS.filter((m) => text.toLowerCase().includes(m.toLowerCase()) && !sent.toLowerCase().includes(m.toLowerCase()))
}

/**
 * scanResponses makes every `app.inject` of a test app (the tests' own calls and the helpers')
 * check its response with `secretsIn` and throw on a find; `count` says how many were scanned.
 */
export function scanResponses (app: FastifyInstance): { count: () => number } {
  const original = app.inject.bind(app) as (opts: InjectOptions) => Promise<LightMyRequestResponse>
  let scanned = 0
  const inject = async (opts: InjectOptions): Promise<LightMyRequestResponse> => {
    const res = await original(opts)
    scanned++
    const sent = `${String(opts.url)} ${opts.payload === undefined ? '' : typeof opts.payload === 'string' ? opts.payload : JSON.stringify(opts.payload)}`
    const found = secretsIn(res, sent)
    if (found.length) throw new Error(`${String(opts.method)} ${String(opts.url)} leaked ${found.join(', ')}: ${res.body.slice(0, 500)}`)
    return res
  }
  Object.defineProperty(app, 'inject', { value: inject, configurable: true, writable: true })
  return { count: () => scanned }
}
