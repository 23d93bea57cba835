import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const LOCK = 'backplane.pid'

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** readOwnerLock returns the pid of a live Backplane process that owns the data dir, if any. */
export async function readOwnerLock (dataDir: string): Promise<number | undefined> {
  let pid: number
  try { pid = Number((await readFile(join(dataDir, LOCK), 'utf8')).trim()) } catch { return undefined }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined
  // A recycled pid that now belongs to something else is not an owner.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => 'node')
  return /node|backplane/.test(cmdline) ? pid : undefined
}

/** writeOwnerLock records this process as the owner of the data dir. */
export async function writeOwnerLock (dataDir: string): Promise<void> {
  await writeFile(join(dataDir, LOCK), String(process.pid), { mode: 0o600 })
}

/** removeOwnerLock releases the data dir if this process owns it. */
export async function removeOwnerLock (dataDir: string): Promise<void> {
  const text = await readFile(join(dataDir, LOCK), 'utf8').catch(() => '')
  if (text.trim() === String(process.pid)) await rm(join(dataDir, LOCK), { force: true })
}
