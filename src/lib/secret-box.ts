import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'

/** SecretBox encrypts small secrets (signing keys, webhook secrets) at rest with AES-256-GCM. */
export interface SecretBox {
  seal: (plain: string) => string
  open: (sealed: string) => string
}

/**
 * createSecretBox derives a purpose-bound key from the master secret (HKDF-SHA256), so a key
 * for one purpose can never open another's data.
 */
export function createSecretBox (masterSecret: string | (() => string), purpose: string): SecretBox {
  // The key is derived on first use, so building the app (e.g. `backplane openapi`) needs no secret.
  let derived: Buffer | undefined
  const keyOf = () => (derived ??= deriveKey(typeof masterSecret === 'string' ? masterSecret : masterSecret(), purpose))
  return {
    seal (plain) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', keyOf(), iv)
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join('.')
    },
    open (sealed) {
      const [version, iv, tag, data] = sealed.split('.')
      if (version !== VERSION || !iv || !tag || data === undefined) throw new Error('sealed secret has an unknown format')
      const decipher = createDecipheriv('aes-256-gcm', keyOf(), Buffer.from(iv, 'base64url'))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8')
    }
  }
}

/** deriveKey derives a 32-byte key for one purpose from the master secret (HKDF-SHA256). */
export function deriveKey (masterSecret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterSecret, 'backplane', purpose, 32))
}
