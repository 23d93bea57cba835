import { describe, expect, it } from 'vitest'
import { classifyAddress, ipv6Bytes, isAllowedAddress } from '../../lib/address-policy.ts'
import { retryDelayMs, RETRY_AFTER_MAX_MS } from './retry.ts'
import { parseRetryAfter } from '../../lib/outbound-post.ts'
import { newWebhookSecret, secretKey, signatureHeader } from './signature.ts'
import { checkTarget, parseTargetUrl, TargetRefusal, type Resolver } from '../../lib/outbound-target.ts'

const dev = { httpsOnly: false, allowPrivate: false }
const prod = { httpsOnly: true, allowPrivate: false }
const publicResolver: Resolver = async () => [{ address: '93.184.215.14', family: 4 }]

describe('address policy', () => {
  it.each([
    ['127.0.0.1', 'private'], ['127.255.255.254', 'private'], ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'], ['169.254.1.1', 'private'], ['100.64.0.1', 'private'], ['::1', 'private'], ['fe80::1', 'private'],
    ['fe80::1%eth0', 'private'], ['fc00::1', 'private'], ['fd12:3456::1', 'private'],
    ['0.0.0.0', 'forbidden'], ['0.1.2.3', 'forbidden'], ['169.254.169.254', 'forbidden'], ['fd00:ec2::254', 'forbidden'], ['255.255.255.255', 'forbidden'],
    ['224.0.0.1', 'forbidden'], ['239.255.255.250', 'forbidden'], ['ff02::1', 'forbidden'], ['::', 'forbidden'], ['192.0.2.1', 'forbidden'],
    // IPv4 hidden in IPv6: mapped, compatible, NAT64, 6to4, Teredo.
    ['::ffff:127.0.0.1', 'private'], ['::ffff:7f00:1', 'private'], ['::ffff:a9fe:a9fe', 'forbidden'], ['::ffff:10.0.0.1', 'private'],
    ['::127.0.0.1', 'forbidden'], ['::7f00:1', 'forbidden'], ['64:ff9b::7f00:1', 'private'], ['64:ff9b::a9fe:a9fe', 'forbidden'],
    ['2002:7f00:1::1', 'forbidden'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'forbidden'],
    ['8.8.8.8', 'public'], ['93.184.215.14', 'public'], ['172.32.0.1', 'public'], ['100.128.0.1', 'public'], ['::ffff:8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'], ['64:ff9b::808:808', 'public'], ['2002:808:808::1', 'public']
  ])('%s is %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind)
  })

  it('lets private addresses through only when allowed, and metadata never', () => {
    expect(isAllowedAddress('127.0.0.1', false)).toBe(false)
    expect(isAllowedAddress('127.0.0.1', true)).toBe(true)
    expect(isAllowedAddress('169.254.169.254', true)).toBe(false)
    expect(isAllowedAddress('fd00:ec2::254', true)).toBe(false)
    expect(isAllowedAddress('::ffff:169.254.169.254', true)).toBe(false)
  })

  it('expands IPv6 text to bytes', () => {
    expect([...ipv6Bytes('::ffff:1.2.3.4')!].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4])
    expect([...ipv6Bytes('1:2:3:4:5:6:7:8')!]).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8])
    expect(ipv6Bytes('not-an-ip')).toBeUndefined()
  })
})

describe('URL checks at create (SS-01)', () => {
  const refused = async (url: string, policy = dev, resolve: Resolver = publicResolver) => {
    const err = await checkTarget(url, policy, resolve).then(() => undefined, (e: unknown) => e)
    expect(err, url).toBeInstanceOf(TargetRefusal)
    return (err as Error).message
  }

  it.each([
    'http://127.0.0.1/', 'http://127.0.0.1:8080/hook', 'http://[::1]/', 'http://0.0.0.0/', 'http://0/', 'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/', 'http://172.16.5.4/', 'http://192.168.0.10/', 'http://100.64.1.1/', 'http://[fe80::1]/', 'http://[fc00::1]/',
    'http://2130706433/', 'http://0x7f.1/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://017700000001/', 'http://127.1/', 'http://127.0.0.1./',
    'http://%31%32%37.0.0.1/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://[0:0:0:0:0:ffff:a9fe:a9fe]/', 'http://[::127.0.0.1]/',
    'http://[fd00:ec2::254]/', 'http://localhost/', 'http://LOCALHOST:3000/', 'http://api.localhost/', 'http://example.com@127.0.0.1/',
    'file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO', 'ftp://example.com/', 'data:text/plain,hi', 'javascript:alert(1)',
    'http://user:pass@example.com/', 'https://user@example.com/', 'http://example.com/#frag', 'not a url', '//example.com/'
  ])('refuses %s', async (url) => {
    await refused(url)
  })

  it('refuses a name that resolves to loopback, or to one public and one internal address', async () => {
    expect(await refused('https://rebind.example/', dev, async () => [{ address: '127.0.0.1', family: 4 }])).toMatch(/resolves to 127\.0\.0\.1/)
    await refused('https://mixed.example/', dev, async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.1', family: 4 }])
    await refused('https://v6.example/', dev, async () => [{ address: '::ffff:127.0.0.1', family: 6 }])
    await refused('https://nowhere.example/', dev, async () => { throw new Error('ENOTFOUND') })
  })

  it('accepts public targets; http only outside production', async () => {
    await expect(checkTarget('https://hooks.example.com/in?x=1', prod, publicResolver)).resolves.toBeInstanceOf(URL)
    await expect(checkTarget('http://hooks.example.com:8443/in', dev, publicResolver)).resolves.toBeInstanceOf(URL)
    await expect(checkTarget('https://[2606:4700:4700::1111]/', prod, publicResolver)).resolves.toBeInstanceOf(URL)
    expect(await refused('http://hooks.example.com/', prod)).toMatch(/https/)
  })

  it('lets loopback through when private targets are allowed', async () => {
    const allow = { httpsOnly: false, allowPrivate: true }
    await expect(checkTarget('http://127.0.0.1:9/', allow, publicResolver)).resolves.toBeInstanceOf(URL)
    await expect(checkTarget('http://localhost:9/', allow, async () => [{ address: '127.0.0.1', family: 4 }])).resolves.toBeInstanceOf(URL)
    await refused('http://169.254.169.254/', allow)
    expect(() => parseTargetUrl('http://u:p@127.0.0.1/', allow)).toThrow(TargetRefusal)
  })
})

describe('signatures (WH-01)', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(signatureHeader(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'))
      .toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
  })

  it('makes whsec_ secrets of 32 random bytes, and signs with every secret given', () => {
    const a = newWebhookSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(secretKey(a)).toHaveLength(32)
    expect(a).not.toBe(newWebhookSecret())
    expect(signatureHeader([a, newWebhookSecret()], 'id', 1, '{}').split(' ')).toHaveLength(2)
  })
})

describe('retry schedule (WH-02)', () => {
  const schedule = [5000, 30_000, 120_000]

  it('waits between half and all of each step, then gives up', () => {
    expect(retryDelayMs(schedule, 1, null, () => 0)).toBe(2500)
    expect(retryDelayMs(schedule, 1, null, () => 1)).toBe(5000)
    expect(retryDelayMs(schedule, 3, null, () => 0.5)).toBe(90_000)
    expect(retryDelayMs(schedule, 4, null)).toBeNull()
  })

  it('honours a longer Retry-After, up to an hour', () => {
    expect(retryDelayMs(schedule, 1, 60_000, () => 1)).toBe(60_000)
    expect(retryDelayMs(schedule, 1, 1000, () => 1)).toBe(5000)
    expect(retryDelayMs(schedule, 1, 86_400_000, () => 1)).toBe(RETRY_AFTER_MAX_MS)
  })

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120')).toBe(120_000)
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString(), Date.now())).toBeGreaterThan(28_000)
    expect(parseRetryAfter('soon')).toBeNull()
    expect(parseRetryAfter(undefined)).toBeNull()
  })
})
