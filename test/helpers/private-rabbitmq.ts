import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../src/lib/free-port.ts'

/** PrivateRabbit is a rabbitmq-server node of one test's own (own node name, ports and folders; never the shared broker). */
export interface PrivateRabbit {
  url: string
  /** start boots the node (again, on the same data) and resolves once it accepts AMQP connections. */
  start: () => Promise<void>
  /** kill ends the broker's Erlang VM with SIGKILL, as a crash would. */
  kill: () => Promise<void>
  /** stop kills it and removes its folder. */
  stop: () => Promise<void>
}

function accepting (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}

/** privateRabbit prepares a node in a temporary folder: management plugin off, no config file, its own Erlang cookie. */
export async function privateRabbit (): Promise<PrivateRabbit> {
  const dir = await mkdtemp(join(tmpdir(), 'backplane-rabbit-'))
  await chmod(dir, 0o777)
  const [port, dist] = [await freePort(), await freePort()]
  const node = `bp${randomBytes(4).toString('hex')}@localhost`
  await writeFile(join(dir, 'enabled_plugins'), '[].\n')
  await writeFile(join(dir, '.erlang.cookie'), randomBytes(16).toString('hex'), { mode: 0o400 })
  const env = {
    PATH: '/usr/sbin:/usr/bin:/bin',
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'none'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'none-advanced.config'),
    RABBITMQ_PID_FILE: join(dir, 'pid')
  }
  let child: ChildProcess | undefined
  async function kill (): Promise<void> {
    const pid = Number((await readFile(join(dir, 'pid'), 'utf8').catch(() => '')).trim())
    if (pid > 0) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    const c = child
    if (c && c.exitCode === null && c.signalCode === null) {
      await Promise.race([new Promise((resolve) => c.once('exit', resolve)), new Promise((resolve) => setTimeout(resolve, 5000))])
    }
    await rm(join(dir, 'pid'), { force: true })
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    async start () {
      child = spawn('/usr/lib/rabbitmq/bin/rabbitmq-server', [], { env, stdio: 'ignore' })
      const deadline = Date.now() + 60_000
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`rabbitmq-server exited (${child.exitCode}); see ${dir}/log`)
        if (await accepting(port)) return
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      throw new Error(`rabbitmq-server did not listen on ${port} within 60 s`)
    },
    kill,
    async stop () {
      await kill()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
