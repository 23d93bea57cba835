import { fork, type ChildProcess } from 'node:child_process'

/** RpcRequest is a request the bench parent sends a child: an id, a type and its fields. */
export interface RpcRequest { id: number, type: string, [field: string]: unknown }

/** RpcReply answers one request (same id), or carries an error message. */
export interface RpcReply { id: number, ok: boolean, error?: string, [field: string]: unknown }

/** RpcChild is a bench child process that answers requests over IPC. */
export interface RpcChild {
  name: string
  pid: number
  /** ready is what the child sent once started (e.g. its port). */
  ready: Record<string, unknown>
  /** call sends a request and resolves with the reply, rejecting after the timeout. */
  call: <T = Record<string, unknown>>(type: string, fields?: Record<string, unknown>, timeoutMs?: number) => Promise<T>
  /** stop asks the child to exit and kills it if it has not after the timeout. */
  stop: (timeoutMs?: number) => Promise<void>
}

/**
 * forkRpc starts a child (stdout discarded, stderr shown) and resolves once it sends
 * `{ type: 'ready', … }`; every later message is the reply to a `call`.
 */
export async function forkRpc (name: string, script: string, env: NodeJS.ProcessEnv, execArgv: string[] = [], startTimeoutMs = 120_000): Promise<RpcChild> {
  const child: ChildProcess = fork(script, [], { execPath: process.execPath, execArgv, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const pending = new Map<number, { resolve: (r: RpcReply) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  let nextId = 1
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} did not start within ${startTimeoutMs} ms`)) }, startTimeoutMs)
    child.once('message', (msg: { type: string, message?: string }) => {
      clearTimeout(timer)
      if (msg.type === 'ready') resolve(msg)
      else reject(new Error(`${name} failed to start: ${msg.message ?? JSON.stringify(msg)}`))
    })
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`)) })
  }).catch((err: unknown) => { child.kill('SIGKILL'); throw err })
  child.removeAllListeners('exit')
  child.on('message', (msg: RpcReply) => {
    const waiting = pending.get(msg.id)
    if (!waiting) return
    pending.delete(msg.id)
    clearTimeout(waiting.timer)
    if (msg.ok) waiting.resolve(msg)
    else waiting.reject(new Error(`${name}: ${msg.error ?? 'failed'}`))
  })
  child.on('exit', (code, signal) => {
    for (const [id, waiting] of pending) {
      pending.delete(id)
      clearTimeout(waiting.timer)
      waiting.reject(new Error(`${name} exited (code ${code}, signal ${signal})`))
    }
  })
  return {
    name,
    pid: child.pid!,
    ready,
    call: async <T>(type: string, fields: Record<string, unknown> = {}, timeoutMs = 120_000) => {
      const id = nextId++
      const reply = await new Promise<RpcReply>((resolve, reject) => {
        const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${name}: ${type} took more than ${timeoutMs} ms`)) }, timeoutMs)
        pending.set(id, { resolve, reject, timer })
        child.send({ ...fields, id, type } satisfies RpcRequest)
      })
      return reply as T
    },
    async stop (timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      const done = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
      if (child.connected) child.send({ id: 0, type: 'stop' })
      else child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
      try { await done } finally { clearTimeout(timer) }
    }
  }
}

/** RpcHandler answers one request type in a child; what it returns is merged into the reply. */
export type RpcHandler = (request: RpcRequest) => Promise<Record<string, unknown>> | Record<string, unknown>

/**
 * serveRpc runs the child side: answers requests with the handlers, and on `stop` (or when the
 * parent goes away) runs close and exits.
 */
export function serveRpc (handlers: Record<string, RpcHandler>, close: () => Promise<void>): void {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    const timer = setTimeout(() => { process.exit(1) }, 10_000)
    timer.unref()
    close().then(() => { process.exit(0) }, (err: unknown) => {
      process.stderr.write(`bench child: ${(err as Error).stack ?? String(err)}\n`)
      process.exit(1)
    })
  }
  process.on('message', (msg: RpcRequest) => {
    if (msg.type === 'stop') { stop(); return }
    const handler = handlers[msg.type]
    if (!handler) { process.send?.({ id: msg.id, ok: false, error: `unknown request ${msg.type}` }); return }
    Promise.resolve().then(() => handler(msg)).then(
      (reply) => { process.send?.({ ...reply, id: msg.id, ok: true }) },
      (err: unknown) => { process.send?.({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) }) }
    )
  })
  process.on('disconnect', stop)
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
