import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from '../config.ts'

/**
 * masterSecret returns BACKPLANE_SECRET, or outside production a secret generated once and kept
 * in `<DATA_DIR>/secret` (0600), so development needs no setting and restarts keep sessions.
 */
export function masterSecret (config: Config): string {
  if (config.secret) return config.secret
  if (config.production) throw new Error('BACKPLANE_SECRET is required in production')
  const dir = resolve(config.dataDir)
  const file = join(dir, 'secret')
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    mkdirSync(dir, { recursive: true, mode: 0o711 })
    const secret = randomBytes(48).toString('base64url')
    // 'wx' fails if another process created it first; then read theirs.
    try { writeFileSync(file, secret, { mode: 0o600, flag: 'wx' }) } catch { return readFileSync(file, 'utf8').trim() }
    return secret
  }
}
