import { BlockList, isIPv4, isIPv6 } from 'node:net'

/**
 * AddressClass is where an IP address leads: the public internet, a private network (loopback,
 * RFC 1918, CGNAT, link-local, ULA: reachable only with WEBHOOKS_ALLOW_PRIVATE or
 * PUSH_ALLOW_INSECURE_ENDPOINTS), or nowhere an outbound request (a webhook, a push message) may
 * ever go (cloud metadata, unspecified, multicast, broadcast, reserved, addresses that hide an
 * IPv4 address in an odd IPv6 form).
 */
export type AddressClass = 'public' | 'private' | 'forbidden'

function list (entries: Array<[string, number]>, type: 'ipv4' | 'ipv6'): BlockList {
  const blocks = new BlockList()
  for (const [net, prefix] of entries) blocks.addSubnet(net, prefix, type)
  return blocks
}

const FORBIDDEN_V4 = list([
  ['0.0.0.0', 8], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['169.254.169.254', 32], // cloud metadata (AWS, GCP, Azure, OpenStack)
  ['169.254.170.2', 32], // ECS task metadata
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], ['198.51.100.0', 24], ['203.0.113.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4] // reserved, and 255.255.255.255 broadcast
], 'ipv4')

const PRIVATE_V4 = list([
  ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], // RFC 1918
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['100.64.0.0', 10] // carrier-grade NAT
], 'ipv4')

const FORBIDDEN_V6 = list([
  ['fd00:ec2::254', 128], // AWS metadata over IPv6
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments, Teredo (hides an IPv4 address)
  ['2001:db8::', 32], // documentation
  ['ff00::', 8] // multicast
], 'ipv6')

const PRIVATE_V6 = list([
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10] // site-local (deprecated, still routed by some stacks)
], 'ipv6')

function classifyV4 (ip: string): AddressClass {
  if (FORBIDDEN_V4.check(ip, 'ipv4')) return 'forbidden'
  if (PRIVATE_V4.check(ip, 'ipv4')) return 'private'
  return 'public'
}

/** ipv6Bytes expands an IPv6 address (`::`, an embedded dotted quad, a zone id) to its 16 bytes. */
export function ipv6Bytes (text: string): Uint8Array | undefined {
  const ip = text.replace(/%.*$/, '')
  if (!isIPv6(ip)) return undefined
  let words: string[] = []
  const [head = '', tail] = ip.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':'))
  let left = parse(head)
  let right = tail === undefined ? [] : parse(tail)
  const quadOf = (parts: string[]) => {
    const last = parts.at(-1)
    if (last === undefined || !last.includes('.')) return parts
    const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number)
    return [...parts.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
  }
  if (tail === undefined) left = quadOf(left)
  else right = quadOf(right)
  const missing = 8 - left.length - right.length
  words = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right]
  const bytes = new Uint8Array(16)
  words.forEach((w, i) => { const n = parseInt(w, 16); bytes[i * 2] = n >> 8; bytes[i * 2 + 1] = n & 0xff })
  return bytes
}

const v4At = (b: Uint8Array, i: number) => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`
const zero = (b: Uint8Array, from: number, to: number) => b.subarray(from, to).every((x) => x === 0)

function classifyV6 (ip: string): AddressClass {
  const b = ipv6Bytes(ip)
  if (!b) return 'forbidden'
  // ::ffff:a.b.c.d (IPv4-mapped): the socket connects to a.b.c.d.
  if (zero(b, 0, 10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(v4At(b, 12))
  if (zero(b, 0, 12)) {
    if (zero(b, 12, 15) && b[15] === 1) return 'private' // ::1
    return 'forbidden' // :: and the deprecated IPv4-compatible ::a.b.c.d
  }
  // 64:ff9b::a.b.c.d (NAT64) reaches a.b.c.d; judge that address.
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(b, 4, 12)) return classifyV4(v4At(b, 12))
  // 2002:aabb:ccdd::/48 (6to4) tunnels to a.b.c.d.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(v4At(b, 2)) === 'public' ? 'public' : 'forbidden'
  const plain = ip.replace(/%.*$/, '')
  if (FORBIDDEN_V6.check(plain, 'ipv6')) return 'forbidden'
  if (PRIVATE_V6.check(plain, 'ipv6')) return 'private'
  // Only global unicast (2000::/3) is the public internet; the rest is reserved.
  return ((b[0] ?? 0) & 0xe0) === 0x20 ? 'public' : 'forbidden'
}

/** classifyAddress tells where an IP address (v4 or v6, as a resolver or the URL parser gives it) leads. */
export function classifyAddress (ip: string): AddressClass {
  if (isIPv4(ip)) return classifyV4(ip)
  return classifyV6(ip)
}

/** isAllowedAddress is the one rule every connection passes: public, or private when the deployment allows it. */
export function isAllowedAddress (ip: string, allowPrivate: boolean): boolean {
  const kind = classifyAddress(ip)
  return kind === 'public' || (kind === 'private' && allowPrivate)
}
