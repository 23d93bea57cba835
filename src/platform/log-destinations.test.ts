import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { batchedLog, type Sink } from './log-destinations.ts'

function recordingSink () {
  const chunks: Buffer[] = []
  let flushes = 0
  let ended = false
  const sink: Sink = {
    write: (chunk) => { chunks.push(chunk) },
    flushSync: () => { flushes++ },
    flush: (cb) => { flushes++; cb() },
    end: () => { ended = true }
  }
  return { sink, chunks, text: () => Buffer.concat(chunks).toString(), flushes: () => flushes, ended: () => ended }
}

describe('batchedLog', () => {
  it('hands every sink the same lines, in order, as one write per batch', async () => {
    const a = recordingSink()
    const b = recordingSink()
    const log = batchedLog([a.sink, b.sink])
    for (let i = 0; i < 50; i++) log.write(`{"i":${i},"msg":"é ✓"}\n`)
    expect(a.chunks).toHaveLength(0)
    await new Promise<void>((resolve, reject) => { log.flush((err) => { if (err) reject(err); else resolve() }) })
    expect(a.chunks).toHaveLength(1)
    expect(b.chunks).toHaveLength(1)
    const lines = a.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number, msg: string })
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 50 }, (_v, i) => i))
    expect(lines[0]!.msg).toBe('é ✓')
    expect(b.text()).toBe(a.text())
    expect(a.flushes()).toBe(1)
    log.end()
  })

  it('hands a batch on at 16 KiB without waiting, and a quiet one within a tenth of a second', async () => {
    const a = recordingSink()
    const log = batchedLog([a.sink])
    const line = JSON.stringify({ pad: 'x'.repeat(1000) }) + '\n'
    for (let i = 0; i < 17; i++) log.write(line)
    expect(a.chunks).toHaveLength(1)
    expect(a.chunks[0]!.length).toBeGreaterThanOrEqual(16 * 1024)
    log.write('{"last":true}\n')
    expect(a.chunks).toHaveLength(1)
    await sleep(250)
    expect(a.chunks).toHaveLength(2)
    expect(a.text().split('\n').filter(Boolean)).toHaveLength(18)
    log.end()
  })

  it('writes what it holds synchronously at flushSync and at end, then ends every sink', () => {
    const a = recordingSink()
    const b = recordingSink()
    const log = batchedLog([a.sink, b.sink])
    log.write('{"n":1}\n')
    log.flushSync()
    expect(a.text()).toBe('{"n":1}\n')
    expect(a.flushes()).toBe(1)
    log.write('{"n":2}\n')
    log.end()
    expect(b.text()).toBe('{"n":1}\n{"n":2}\n')
    expect(a.ended() && b.ended()).toBe(true)
  })
})
