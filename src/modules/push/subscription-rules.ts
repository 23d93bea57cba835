import { ECDH } from 'node:crypto'
import { isIPv4 } from 'node:net'
import { checkTarget, hostOf, TargetRefusal, type Resolver, type TargetPolicy } from '../../lib/outbound-target.ts'
import { invalidSubscription } from './errors.ts'

/** EndpointPolicy is where push endpoints may point: https on the public internet, or (PUSH_ALLOW_INSECURE_ENDPOINTS, never in production) loopback and private networks, http on loopback only. */
export interface EndpointPolicy { allowInsecure: boolean }

/** targetPolicy turns the endpoint policy into the outbound target rules shared with webhooks (checked at save and at every connection). */
export function targetPolicy (policy: EndpointPolicy): TargetPolicy {
  return { httpsOnly: !policy.allowInsecure, allowPrivate: policy.allowInsecure }
}

function decode (text: string): Buffer {
  return Buffer.from(text.replace(/=+$/, ''), 'base64url')
}

/** checkKeys refuses keys a browser could not have made: p256dh must be an uncompressed point on P-256, auth 16 bytes. */
export function checkKeys (keys: { p256dh: string, auth: string }): void {
  const point = decode(keys.p256dh)
  if (point.length !== 65 || point[0] !== 0x04) throw invalidSubscription('keys.p256dh', 'must be a 65-byte uncompressed P-256 public key (base64url)')
  try {
    // Decoding the point checks it lies on the curve (an off-curve key is an invalid-curve attack on ECDH).
    ECDH.convertKey(point, 'prime256v1', undefined, undefined, 'uncompressed')
  } catch {
    throw invalidSubscription('keys.p256dh', 'is not a point on the P-256 curve')
  }
  if (decode(keys.auth).length !== 16) throw invalidSubscription('keys.auth', 'must be 16 bytes (base64url)')
}

// http is for a push service stand-in on this machine only: the name or a literal loopback address.
function isLoopback (host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || (isIPv4(host) && host.startsWith('127.'))
}

/**
 * checkEndpoint checks a push endpoint as webhooks check their URLs (form, then every address the
 * host resolves to), and allows plain http only to a loopback host, for local stand-ins.
 */
export async function checkEndpoint (endpoint: string, policy: EndpointPolicy, resolve: Resolver): Promise<URL> {
  let url: URL
  try {
    url = await checkTarget(endpoint, targetPolicy(policy), resolve)
  } catch (err) {
    if (err instanceof TargetRefusal) throw invalidSubscription('endpoint', err.message)
    throw err
  }
  if (url.protocol === 'http:' && !isLoopback(hostOf(url).toLowerCase())) throw invalidSubscription('endpoint', 'must use https (http only to a loopback address with PUSH_ALLOW_INSECURE_ENDPOINTS)')
  return url
}
