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

/**
 * startTime reads when a process started (clock ticks since boot, /proc/<pid>/stat field 22), or
 * undefined where /proc is missing. A pid and its start time name one process: a recycled pid has
 * another start time.
 */
async function startTime (pid: number | 'self'): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

/** readOwnerLock returns the pid of a live Backplane process that owns the data dir, if any. */
export async function readOwnerLock (dataDir: string): Promise<number | undefined> {
  let text: string
  try { text = (await readFile(join(dataDir, LOCK), 'utf8')).trim() } catch { return undefined }
  const [pidText = '', started] = text.split(/\s+/)
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined
  // A recycled pid (after a kill -9, a reboot, a new container) belongs to another process now.
  if (started !== undefined) {
    const now = await startTime(pid)
    if (now !== undefined) return now === started ? pid : undefined
  }
  // Locks written without a start time, or no /proc: judge by the command line.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => 'node')
  return /node|backplane/.test(cmdline) ? pid : undefined
}

/** writeOwnerLock records this process (pid and start time) as the owner of the data dir. */
export async function writeOwnerLock (dataDir: string): Promise<void> {
  const started = await startTime('self')
  await writeFile(join(dataDir, LOCK), started === undefined ? String(process.pid) : `${process.pid} ${started}`, { mode: 0o600 })
}

/** removeOwnerLock releases the data dir if this process owns it. */
export async function removeOwnerLock (dataDir: string): Promise<void> {
  const text = await readFile(join(dataDir, LOCK), 'utf8').catch(() => '')
  if (text.trim().split(/\s+/)[0] === String(process.pid)) await rm(join(dataDir, LOCK), { force: true })
}
