import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { readSmallText } from './read-file.ts'

/** DEV_ENV_FILES are the dotenv files a dev server loads, the one that wins first (Vite, Next, CRA and Nuxt agree). */
export const DEV_ENV_FILES = ['.env.development.local', '.env.local', '.env.development', '.env']

/** EnvValue is a setting from an app's dotenv files and the file it came from. */
export interface EnvValue {
  value: string
  file: string
}

/**
 * readDevEnv reads the app's development dotenv files (never the environment of the process that
 * scans: detection describes the app, not the machine it runs on). Later files never override earlier ones.
 */
export async function readDevEnv (dir: string, files: Set<string>): Promise<Map<string, EnvValue>> {
  const out = new Map<string, EnvValue>()
  for (const file of DEV_ENV_FILES) {
    if (!files.has(file)) continue
    const read = await readSmallText(join(dir, file))
    if (!read.ok) continue
    let parsed: Record<string, string | undefined>
    try {
      parsed = parseEnv(read.text)
    } catch {
      continue
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== undefined && value !== '' && !out.has(key)) out.set(key, { value, file })
    }
  }
  return out
}
