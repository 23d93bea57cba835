import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from './config-values.ts'
import { explainListenError } from './listen-error.ts'

let taken: Server
let port: number
beforeAll(async () => {
  taken = createServer().listen(0, '127.0.0.1')
  await once(taken, 'listening')
  port = (taken.address() as { port: number }).port
})
afterAll(() => { taken.close() })

// The errors are real ones from node:net, so a change in Node's codes shows here.
async function listenError (host: string, at: number): Promise<unknown> {
  const server = createServer()
  try {
    server.listen(at, host)
    const [err] = await once(server, 'error') as [unknown]
    return err
  } finally {
    server.close()
  }
}

describe('explainListenError', () => {
  it('names PORT when the port is taken', async () => {
    const err = explainListenError(await listenError('127.0.0.1', port), { host: '127.0.0.1', port })
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toBe(`PORT=${port} is already in use on 127.0.0.1: stop the other process or set PORT to a free port (0 picks one)`)
  })

  it('names HOST when it is not an address of this machine, or does not resolve', async () => {
    const foreign = explainListenError(await listenError('192.0.2.1', 0), { host: '192.0.2.1', port: 0 })
    expect((foreign as Error).message).toBe('HOST=192.0.2.1 is not an address of this machine: use 127.0.0.1, 0.0.0.0 (every interface) or one of its own addresses')
    const unknown = explainListenError(await listenError('no-such-host.invalid', 0), { host: 'no-such-host.invalid', port: 0 })
    expect(unknown).toBeInstanceOf(ConfigError)
    expect((unknown as Error).message).toMatch(/^HOST=no-such-host\.invalid (does not resolve|could not be resolved)/)
  })

  it('passes any other error through unchanged', () => {
    const other = new Error('something else')
    expect(explainListenError(other, { host: '127.0.0.1', port: 1 })).toBe(other)
    expect(explainListenError(undefined, { host: '127.0.0.1', port: 1 })).toBeUndefined()
  })
})
