import { Secret, TOTP } from 'otpauth'
import { renderSVG } from 'uqr'

/** TOTP_PERIOD is the RFC 6238 time step in seconds (what every authenticator app uses). */
export const TOTP_PERIOD = 30
// ±1 step: a code typed just before its step ended, or on a phone whose clock is up to 30 s off,
// still works; wider windows hand an attacker more valid codes per guess (NIST SP 800-63B 5.1.4.1).
const WINDOW = 1
const CODE = /^\d{6}$/

function totp (secretBase32: string, label = 'user', issuer = 'Backplane'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD, secret: Secret.fromBase32(secretBase32) })
}

/** newTotpSecret makes a 160-bit TOTP secret (RFC 4226 recommends 160), base32 as apps expect it. */
export function newTotpSecret (): string {
  return new Secret({ size: 20 }).base32
}

/** totpEnrolment is what a user scans: the otpauth:// URI and the same as a QR code (an SVG data URL). */
export function totpEnrolment (secretBase32: string, account: string, issuer: string): { secret: string, otpauthUri: string, qrDataUrl: string } {
  const otpauthUri = totp(secretBase32, account, issuer).toString()
  const svg = renderSVG(otpauthUri, { border: 2 })
  return { secret: secretBase32, otpauthUri, qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` }
}

/**
 * totpStep returns the time step a code belongs to (within ±1 step of `now`), or undefined when it
 * matches none. The caller refuses steps at or before the last one used, which makes each code single-use.
 */
export function totpStep (secretBase32: string, code: string, now = Date.now()): number | undefined {
  if (!CODE.test(code)) return undefined
  const delta = totp(secretBase32).validate({ token: code, timestamp: now, window: WINDOW })
  if (delta === null) return undefined
  return Math.floor(now / 1000 / TOTP_PERIOD) + delta
}
