import { join } from 'node:path'
import { readSmallText } from '../frontends/read-file.ts'
import type { DetectedFrontend } from '../frontends/types.ts'
import { planClientFiles } from './frontend-plan.ts'
import { envNames } from './frontend-templates.ts'

const KEY = /^bp_[A-Za-z0-9_-]{1,200}$/

/**
 * writtenFrontendKey reads the frontend key that an earlier `--write-clients` left in an app's
 * settings (its env file, settings module or Flutter JSON), or null when there is none. The caller
 * checks it against the registry before reusing it, so a stale or edited value only means a new key.
 */
export async function writtenFrontendKey (frontend: DetectedFrontend, appDir: string): Promise<string | null> {
  const { config } = await planClientFiles(frontend, appDir)
  const read = await readSmallText(join(appDir, config.file))
  if (!read.ok) return null
  let found: string | undefined
  if (config.kind === 'dotenv') {
    const name = envNames(config).key
    for (const line of read.text.split(/\r?\n/)) {
      const match = /^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=\s*(['"]?)([^'"\s#]*)\2\s*(?:#.*)?$/.exec(line)
      if (match?.[1] === name) found = match[3]
    }
  } else if (config.kind === 'module') {
    found = /\bkey:\s*'([^'\n]*)'/.exec(read.text)?.[1]
  } else {
    try {
      const json = JSON.parse(read.text) as { frontendKey?: unknown }
      if (typeof json.frontendKey === 'string') found = json.frontendKey
    } catch {
      return null
    }
  }
  return found !== undefined && KEY.test(found) ? found : null
}
