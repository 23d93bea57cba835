import { execFileSync } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { ConfigSchema } from '../../src/config.ts'

export { freePort } from '../../src/lib/free-port.ts'

/** statusKb reads one `kB` field (VmRSS, VmHWM…) of /proc/<pid>/status, or undefined when the process is gone. */
export async function statusKb (pid: number, field: string): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
  return match ? Number(match[1]) : undefined
}

/** pssKb reads the proportional set size of a process (shared pages split between their users). */
export async function pssKb (pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '')
  const match = /^Pss:\s+(\d+) kB/m.exec(text)
  return match ? Number(match[1]) : undefined
}

async function statFields (pid: number): Promise<string[]> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  // The command name may hold spaces and parentheses: the fields that follow start after the last ')'.
  // fields[0] is the state (field 3 of proc(5)), so field n of proc(5) is fields[n - 3].
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

async function parentOf (pid: number): Promise<number | undefined> {
  const ppid = Number((await statFields(pid))[1])
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined
}

// USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux.
const TICKS_PER_SECOND = 100

/** cpuTimes is the user and system CPU time, in seconds, a process (all its threads) has used so far. */
export async function cpuTimes (pid: number): Promise<{ user: number, system: number }> {
  const fields = await statFields(pid)
  return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND }
}

/** cpuSeconds is the user + system CPU time a process (all its threads) has used so far. */
export async function cpuSeconds (pid: number): Promise<number> {
  const { user, system } = await cpuTimes(pid)
  return user + system
}

/** processTree returns pid and every live descendant of it, found through the ppid field of /proc/<pid>/stat. */
export async function processTree (root: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number)
  const children = new Map<number, number[]>()
  for (const pid of pids) {
    const ppid = await parentOf(pid)
    if (ppid === undefined) continue
    children.set(ppid, [...(children.get(ppid) ?? []), pid])
  }
  const out: number[] = []
  const queue = [root]
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    out.push(pid)
    queue.push(...(children.get(pid) ?? []))
  }
  return out
}

/** TreeMemory is the memory of a process tree: RSS summed (counts shared pages once per process) and PSS summed (counts them once). */
export interface TreeMemory { processes: number, rssMb: number, pssMb?: number }

/** treeMemory measures a process and its descendants. */
export async function treeMemory (root: number): Promise<TreeMemory> {
  const pids = await processTree(root)
  let rss = 0
  let pss = 0
  let pssKnown = true
  for (const pid of pids) {
    rss += (await statusKb(pid, 'VmRSS')) ?? 0
    const p = await pssKb(pid)
    if (p === undefined) pssKnown = false
    else pss += p
  }
  return { processes: pids.length, rssMb: mb(rss), ...(pssKnown ? { pssMb: mb(pss) } : {}) }
}

/** mb turns kB into MB with one decimal. */
export function mb (kb: number): number {
  return Math.round(kb / 102.4) / 10
}

/**
 * settingsFreeEnv copies the environment without any Backplane setting, so a child process sees
 * only the settings the benchmark gives it (plus what it needs to run: PATH, HOME…).
 */
export function settingsFreeEnv (settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(ConfigSchema.properties)) delete env[key]
  return { ...env, ...settings }
}

/** pinToCpus binds every thread of a process to a CPU list (`taskset -a -p -c`, e.g. "0" or "0-1"). */
export function pinToCpus (pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}
