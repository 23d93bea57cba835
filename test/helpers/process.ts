import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../src/lib/free-port.ts'

export { freePort }

/** projectRoot is the repository root, for spawning `node src/main.ts`. */
export const projectRoot = fileURLToPath(new URL('../..', import.meta.url))

/** BackplaneProcess is a real Backplane process started by a test. */
export interface BackplaneProcess {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** ChildRun is a real process a test started: its output so far and how it ended. */
export interface ChildRun {
  child: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** runNode runs a script of this repository on Node 24 with only the given settings (and PATH, HOME), collecting its output. */
export function runNode (args: string[], env: Record<string, string>): ChildRun {
  const child = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => { resolve({ code, signal }) })
  })
  return { child, output: () => out, exited }
}

/**
 * spawnBackplane runs a script (default `src/main.ts start`) on Node 24 with the given settings
 * and resolves once `/health/ready` answers 200. Without a PORT it listens on port 0 and the URL
 * is read from the start-up banner: a port picked here and bound later by the child could be
 * taken in between (by the child's own embedded PostgreSQL, or by a test running in parallel).
 */
export async function spawnBackplane (env: Record<string, string>, args: string[] = ['src/main.ts', 'start'], timeoutMs = 30_000): Promise<BackplaneProcess> {
  const port = env.PORT ?? '0'
  const { child, output, exited } = runNode(args, { LOG_LEVEL: 'info', ...env, PORT: port })
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Backplane exited early (${child.exitCode}):\n${output()}`)
    const url = port === '0' ? listeningUrl(output()) : `http://127.0.0.1:${port}`
    if (url === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      continue
    }
    const ok = await fetch(`${url}/health/ready`).then((r) => r.status === 200, () => false)
    if (ok) return { child, url, output, exited }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill('SIGKILL')
  throw new Error(`Backplane was not ready within ${timeoutMs} ms:\n${output()}`)
}

/** listeningUrl reads the API address from the banner `backplane start` prints once it listens. */
function listeningUrl (output: string): string | undefined {
  const match = /^ {2}API +http:\/\/[^:/\s]+:(\d+)\/api\/v1$/m.exec(output)
  return match ? `http://127.0.0.1:${match[1]}` : undefined
}
