import { lookup as dnsLookup } from 'node:dns/promises'
import { isIP, type LookupFunction } from 'node:net'
import { classifyAddress, isAllowedAddress } from './address-policy.ts'

/** ResolvedAddress is one answer of a host name lookup. */
export interface ResolvedAddress { address: string, family: number }

/** Resolver turns a host name into every address it has (the system resolver, or a test's). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

/** systemResolver asks the operating system (hosts file, DNS), every address in its order. */
export const systemResolver: Resolver = async (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' })

/** RESOLVE_TIMEOUT_MS bounds the host name lookup made when an endpoint is saved. */
export const RESOLVE_TIMEOUT_MS = 5000

/** TargetPolicy is what decides where outbound requests (webhooks, push messages) may go. */
export interface TargetPolicy {
  /** httpsOnly refuses http: URLs (production). */
  httpsOnly: boolean
  /** allowPrivate lets loopback, private and link-local addresses through (WEBHOOKS_ALLOW_PRIVATE). */
  allowPrivate: boolean
}

/** TargetRefusal is why a URL or an address may not be used; `reason` is safe to show to the endpoint's owner. */
export class TargetRefusal extends Error {
  override name = 'TargetRefusal'
  readonly code = 'EWEBHOOKTARGET'
}

/** hostOf gives a URL's host the way sockets take it: IPv6 without brackets. */
export function hostOf (url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '')
}

function refuseAddress (address: string, policy: TargetPolicy, hostname: string): void {
  if (isAllowedAddress(address, policy.allowPrivate)) return
  const kind = classifyAddress(address)
  const what = kind === 'private' ? 'a loopback, private or link-local address' : 'an address Backplane never sends to'
  const named = hostname === address ? `${address} is` : `${hostname} resolves to ${address}, which is`
  throw new TargetRefusal(`${named} ${what}`)
}

/**
 * parseTargetUrl checks the form of an outbound URL (a webhook, a push endpoint): http(s) (https only in production), no user
 * name or password, no fragment. The WHATWG parser has already turned `2130706433`, `0x7f.1`,
 * `0177.0.0.1` and `127.1` into `127.0.0.1`, so the address checks see the real address.
 */
export function parseTargetUrl (text: string, policy: TargetPolicy): URL {
  let url: URL
  try { url = new URL(text) } catch { throw new TargetRefusal('is not a valid absolute URL') }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefusal('must use https (or http outside production)')
  if (policy.httpsOnly && url.protocol !== 'https:') throw new TargetRefusal('must use https in production')
  if (url.username !== '' || url.password !== '') throw new TargetRefusal('must not contain a user name or password')
  if (url.hash !== '') throw new TargetRefusal('must not contain a fragment (#…)')
  const host = hostOf(url).toLowerCase()
  if (host === '') throw new TargetRefusal('has no host')
  // Names that mean this machine whatever DNS says (RFC 6761).
  if (!isIP(host) && (host === 'localhost' || host.endsWith('.localhost') || host === 'localhost.')) {
    if (!policy.allowPrivate) throw new TargetRefusal(`${host} is this machine`)
  }
  return url
}

/**
 * checkTarget is the check at create and update: the URL's form, then the host's addresses
 * (every address a name resolves to must be allowed, so a name with one public and one internal
 * address is refused). Connections are checked again by guardedLookup: DNS can change in between.
 */
export async function checkTarget (text: string, policy: TargetPolicy, resolve: Resolver): Promise<URL> {
  const url = parseTargetUrl(text, policy)
  const host = hostOf(url)
  if (isIP(host)) {
    refuseAddress(host, policy, host)
    return url
  }
  let addresses: ResolvedAddress[]
  let timer: NodeJS.Timeout | undefined
  // A resolver that hangs must not hold the request: the answer is needed within a few seconds.
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('timeout')) }, RESOLVE_TIMEOUT_MS) })
  try {
    addresses = await Promise.race([resolve(host), late])
  } catch {
    throw new TargetRefusal(`${host} does not resolve`)
  } finally {
    clearTimeout(timer)
  }
  if (addresses.length === 0) throw new TargetRefusal(`${host} does not resolve`)
  for (const a of addresses) refuseAddress(a.address, policy, host)
  return url
}

/** checkLiteralHost refuses a URL whose host is a blocked IP literal (sockets skip the lookup for those). */
export function checkLiteralHost (url: URL, policy: TargetPolicy): void {
  const host = hostOf(url)
  if (isIP(host)) refuseAddress(host, policy, host)
}

/**
 * guardedLookup is the `lookup` a delivery's socket uses: it resolves the name at connect time
 * and refuses the connection if any address is blocked, so a name that pointed at a public
 * address when the endpoint was saved and at 127.0.0.1 now (DNS rebinding) never connects.
 */
export function guardedLookup (policy: TargetPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const done = callback as (err: Error | null, address?: string | ResolvedAddress[], family?: number) => void
    resolve(hostname).then((addresses) => {
      if (addresses.length === 0) throw new TargetRefusal(`${hostname} does not resolve`)
      for (const a of addresses) refuseAddress(a.address, policy, hostname)
      const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses
      const usable = wanted.length > 0 ? wanted : addresses
      if (options.all) done(null, usable)
      else done(null, usable[0]!.address, usable[0]!.family)
    }).catch((err: unknown) => { done(err instanceof Error ? err : new Error(String(err))) })
  }
}
