import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** ChildMessage is what a benchmark server child tells its parent over IPC. */
export type ChildMessage = { type: 'ready', url: string, databaseUrl?: string, otelModules?: number } | { type: 'failed', message: string }

/** ParentMessage is what the parent tells a benchmark server child. */
export type ParentMessage = { type: 'stop' }

/** ServerChild is a server under test running in its own Node process. */
export interface ServerChild {
  name: string
  url: string
  pid: number
  /** databaseUrl is the PostgreSQL the server uses, when it reports one (Backplane: also the embedded server's). */
  databaseUrl?: string
  /** otelModules is how many OpenTelemetry SDK, instrumentation or loader-hook modules it had loaded once ready, when it reports it (Backplane). */
  otelModules?: number
  /** stop asks the child to shut down gracefully and waits for its exit code (SIGKILL after the timeout). */
  stop: (timeoutMs?: number) => Promise<number | null>
}

/** ServerOptions says how to run one server child. */
export interface ServerOptions {
  env: NodeJS.ProcessEnv
  /** execArgv are extra Node flags for the child (e.g. --cpu-prof). */
  execArgv?: string[]
  startTimeoutMs?: number
}

/** serverScript resolves a child entry point under bench/lib. */
export function serverScript (file: string): string {
  return fileURLToPath(new URL(file, import.meta.url))
}

function exited (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => { child.once('exit', (code) => { resolve(code) }) })
}

/**
 * startServer forks a server child (stdout discarded, stderr shown) and resolves once it reports
 * the URL it listens on; it rejects if the child fails, exits or takes too long.
 */
export async function startServer (name: string, script: string, options: ServerOptions): Promise<ServerChild> {
  const child = fork(script, [], {
    execPath: process.execPath,
    execArgv: options.execArgv ?? [],
    env: options.env,
    // The server's own stdout (Backplane's JSON log copy) goes to /dev/null, like a discarded container log.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const ready = await new Promise<{ url: string, databaseUrl?: string, otelModules?: number }>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} did not start within ${options.startTimeoutMs ?? 120_000} ms`)) }, options.startTimeoutMs ?? 120_000)
    child.on('message', (msg: ChildMessage) => {
      clearTimeout(timer)
      if (msg.type === 'ready') resolve(msg)
      else reject(new Error(`${name} failed to start: ${msg.message}`))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`))
    })
  }).catch((err: unknown) => {
    child.kill('SIGKILL')
    throw err
  })
  child.removeAllListeners('exit')
  return {
    name,
    url: ready.url,
    ...(ready.databaseUrl ? { databaseUrl: ready.databaseUrl } : {}),
    ...(ready.otelModules === undefined ? {} : { otelModules: ready.otelModules }),
    pid: child.pid!,
    async stop (timeoutMs = 30_000) {
      const done = exited(child)
      if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage)
      else child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
      try { return await done } finally { clearTimeout(timer) }
    }
  }
}

/** onStop runs the child side of the protocol: when the parent says stop (or goes away), close and exit. */
export function onStop (close: () => Promise<void>): void {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    close().then(() => { process.exit(0) }, (err: unknown) => {
      process.stderr.write(`bench server: ${(err as Error).stack ?? String(err)}\n`)
      process.exit(1)
    })
  }
  process.on('message', (msg: ParentMessage) => { if (msg.type === 'stop') stop() })
  process.on('disconnect', stop)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

/** report sends a ChildMessage to the parent. */
export function report (msg: ChildMessage): void {
  process.send?.(msg)
}
