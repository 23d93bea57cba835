import fp from 'fastify-plugin'
import { BlockList, isIP } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { tracing } from './tracing.ts'

// proxy-addr's names (TRUST_PROXY accepts them too).
const NAMED: Record<string, Array<[string, number]>> = {
  loopback: [['127.0.0.0', 8], ['::1', 128]],
  linklocal: [['169.254.0.0', 16], ['fe80::', 10]],
  uniquelocal: [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7]]
}

function prefixOf (range: string): number {
  if (/^[0-9]+$/.test(range)) return Number(range)
  // An IPv4 netmask (255.255.0.0): count its bits (TRUST_PROXY checked it is contiguous).
  return range.split('.').reduce((bits, part) => bits + Number(part).toString(2).replaceAll('0', '').length, 0)
}

/** trustedCallers builds the set of peers whose trace context is honoured: the TRUST_PROXY entries and loopback. */
export function trustedCallers (trustProxy: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of ['loopback', ...trustProxy]) {
    for (const [address, prefix] of NAMED[entry] ?? []) list.addSubnet(address, prefix, isIP(address) === 6 ? 'ipv6' : 'ipv4')
    if (NAMED[entry]) continue
    const [address = '', range] = entry.split('/')
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (range === undefined) list.addAddress(address, family)
    else list.addSubnet(address, prefixOf(range), family)
  }
  return list
}

/** isTrustedCaller tells whether a socket peer (IPv4-mapped IPv6 included) is in the list. */
export function isTrustedCaller (list: BlockList, remote: string | undefined): boolean {
  if (remote === undefined) return false
  const mapped = /^::ffff:([0-9.]+)$/i.exec(remote)
  const address = mapped?.[1] ?? remote
  return list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4')
}

/**
 * traceContext decides whose incoming `traceparent`/`tracestate` are honoured, with the rule
 * X-Forwarded-For follows: only from a peer named by TRUST_PROXY (the proxy in front, which passes
 * its callers' context on) or from this machine (loopback). Anyone else's are removed before the
 * HTTP instrumentation reads them, so their request starts a trace of its own: a stranger cannot
 * graft requests onto another trace or force sampling. Without tracing nothing is installed.
 */
export default fp(async function traceContext (app) {
  if (!tracing.enabled) return
  const trusted = trustedCallers(app.config.http.trustProxy)
  const server = app.server
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean
  // An own `emit` runs before the instrumented `Server.prototype.emit` that starts the request's span.
  server.emit = function emitWithTrustedContext (event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const request = args[0] as IncomingMessage
      if ((request.headers.traceparent !== undefined || request.headers.tracestate !== undefined) && !isTrustedCaller(trusted, request.socket.remoteAddress)) {
        delete request.headers.traceparent
        delete request.headers.tracestate
      }
    }
    return emit(event, ...args)
  } as typeof server.emit
}, { name: 'trace-context' })
