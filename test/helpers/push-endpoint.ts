import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { importJWK, jwtVerify } from 'jose'

/** BrowserKeys are what a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret. */
export interface BrowserKeys { p256dh: string, auth: string, decrypt: (body: Buffer) => Buffer }

/** browserKeys generates a subscriber's keys with node:crypto and the RFC 8291 decryption a browser performs with them. */
export function browserKeys (): BrowserKeys {
  const ecdh = createECDH('prime256v1')
  ecdh.generateKeys()
  const uaPublic = ecdh.getPublicKey()
  const authSecret = randomBytes(16)
  return {
    p256dh: uaPublic.toString('base64url'),
    auth: authSecret.toString('base64url'),
    decrypt (body) {
      // RFC 8188 header: salt (16) | record size (4) | key id length (1) | key id (the sender's ephemeral public key).
      const salt = body.subarray(0, 16)
      const idLength = body[20]!
      const asPublic = body.subarray(21, 21 + idLength)
      const ciphertext = body.subarray(21 + idLength)
      // RFC 8291 §3.3–3.4: IKM from the ECDH secret and the auth secret, then CEK and nonce from the salt.
      const secret = ecdh.computeSecret(asPublic)
      const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic])
      const ikm = Buffer.from(hkdfSync('sha256', secret, authSecret, keyInfo, 32))
      const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
      const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
      decipher.setAuthTag(ciphertext.subarray(-16))
      const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, -16)), decipher.final()])
      // The last record ends with the delimiter 0x02 and zero padding.
      let end = padded.length - 1
      while (end >= 0 && padded[end] === 0) end--
      if (padded[end] !== 2) throw new Error('no last-record padding delimiter')
      return padded.subarray(0, end)
    }
  }
}

/** PushRequest is one message the stand-in accepted: its headers, the verified VAPID claims, and the decrypted payload. */
export interface PushRequest { path: string, headers: IncomingMessage['headers'], claims: { aud: string, sub: string, exp: number }, vapidKey: string, payload: unknown }

/** PushEndpoint is a local push service stand-in: it answers what `reply(path)` says (201 by default) after checking VAPID and decrypting. */
export interface PushEndpoint {
  origin: string
  received: PushRequest[]
  rejected: string[]
  /** subscriber registers a browser under a path; its endpoint is origin + path. */
  subscriber: (path: string) => BrowserKeys & { endpoint: string }
  /** reply makes the stand-in answer `status` to the next `times` messages for a path (every one by default), then accept again. */
  reply: (path: string, status: number, times?: number) => void
  /** answered lists every status the stand-in gave, per path, in order. */
  answered: (path: string) => number[]
  close: () => Promise<void>
}

/**
 * startPushEndpoint listens on loopback and acts as a push service does: it refuses a message
 * unless `Authorization: vapid t=…, k=…` carries an ES256 JWT signed by k, with aud = this origin
 * and exp in the future (RFC 8292), and it decrypts the aes128gcm body as the browser would.
 */
export async function startPushEndpoint (): Promise<PushEndpoint> {
  const browsers = new Map<string, BrowserKeys>()
  const statuses = new Map<string, { status: number, left: number }>()
  const answers = new Map<string, number[]>()
  const answer = (path: string, status: number) => { answers.set(path, [...(answers.get(path) ?? []), status]) }
  const received: PushRequest[] = []
  const rejected: string[] = []
  let origin = ''
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const path = req.url ?? '/'
      const planned = statuses.get(path)
      if (planned !== undefined && planned.left > 0) {
        planned.left--
        answer(path, planned.status)
        res.statusCode = planned.status
        res.end()
        return
      }
      accept(path, req.headers, Buffer.concat(chunks)).then((message) => {
        received.push(message)
        answer(path, 201)
        res.statusCode = 201
        res.end()
      }).catch((err: unknown) => {
        rejected.push(err instanceof Error ? err.message : String(err))
        answer(path, 400)
        res.statusCode = 400
        res.end()
      })
    })
  })
  async function accept (path: string, headers: IncomingMessage['headers'], body: Buffer): Promise<PushRequest> {
    const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? '')
    if (!match) throw new Error(`no vapid authorization: ${headers.authorization ?? ''}`)
    const [, token, k] = match as unknown as [string, string, string]
    const point = Buffer.from(k, 'base64url')
    if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 point')
    const key = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, 'ES256')
    const { payload } = await jwtVerify(token, key, { algorithms: ['ES256'], audience: origin, requiredClaims: ['exp', 'sub'] })
    if (headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${headers['content-encoding'] ?? ''}`)
    const browser = browsers.get(path)
    if (!browser) throw new Error(`no subscriber at ${path}`)
    const plain = browser.decrypt(body)
    return { path, headers, claims: payload as PushRequest['claims'], vapidKey: k, payload: JSON.parse(plain.toString('utf8')) }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    received,
    rejected,
    subscriber (path) {
      const keys = browserKeys()
      browsers.set(path, keys)
      return { ...keys, endpoint: origin + path }
    },
    reply (path, status, times = Infinity) { statuses.set(path, { status, left: times }) },
    answered: (path) => answers.get(path) ?? [],
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) })
  }
}
