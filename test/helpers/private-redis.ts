import { spawn, type ChildProcess } from 'node:child_process'
import { freePort } from '../../src/lib/free-port.ts'
import { canConnectRedis } from './services.ts'

/** PrivateRedis is a redis-server of one test's own on a free port (never the shared one), which the test may kill and start again. */
export interface PrivateRedis {
  url: string
  port: number
  /** start runs the server (again) on the same port and resolves once it accepts connections. */
  start: () => Promise<void>
  /** kill ends it with SIGKILL, as a crash would. */
  kill: () => Promise<void>
}

/** privateRedis picks a port; nothing runs until `start`. */
export async function privateRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      const deadline = Date.now() + 10_000
      while (Date.now() < deadline) {
        if (await canConnectRedis(`redis://127.0.0.1:${port}`)) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      throw new Error(`redis-server did not start on port ${port}`)
    },
    async kill () {
      const c = child
      if (!c || c.exitCode !== null) return
      const exited = new Promise((resolve) => c.once('exit', resolve))
      c.kill('SIGKILL')
      await exited
    }
  }
}
