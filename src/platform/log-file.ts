import { closeSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, write, writeSync } from 'node:fs'
import { basename, dirname, extname, join, resolve } from 'node:path'
import type { Sink } from './log-destinations.ts'

/** LogFileOptions are LOG_FILE, LOG_FILE_SIZE (bytes) and LOG_FILE_COUNT. */
export interface LogFileOptions {
  file: string
  maxBytes: number
  /** keep is how many rotated files stay beside the one being written. */
  keep: number
}

/** parseLogSize reads LOG_FILE_SIZE: a number with k, m or g (powers of 1024); a bare number is MiB, as pino-roll read it before. */
export function parseLogSize (size: string): number {
  const match = /^(\d+)([kmg]?)$/.exec(size)
  if (!match) throw new Error(`${size} is not a size (e.g. 10m)`)
  const unit = { '': 1024 ** 2, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2] as '' | 'k' | 'm' | 'g']
  return Number(match[1]) * unit
}

/**
 * rotatingLogFile writes log batches to `app.N.log` files (LOG_FILE `app.log`), never letting one
 * pass `maxBytes` (unless a single batch is larger) and deleting all but the newest `keep` rotated
 * files, those of earlier runs included. pino-roll, used before, decided to rotate after a write
 * and rotated on the stream's next 'drain', which under sustained load came late: files grew to
 * 42–48 MB at a 10 MB limit; and it deleted only files its own process had made, so restarts
 * piled up 16 files at a limit of 5. Here the size is counted before each write and the rotation
 * happens between two writes, in order. Writes are asynchronous, one in flight, batches queued.
 */
export function rotatingLogFile (options: LogFileOptions): Sink {
  const path = resolve(options.file)
  const dir = dirname(path)
  const ext = extname(path)
  const stem = basename(path, ext)
  const numbered = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)${ext.replace('.', '\\.')}$`)
  const nameOf = (n: number) => join(dir, `${stem}.${n}${ext}`)
  const numbers = () => readdirSync(dir).map((f) => numbered.exec(f)?.[1]).filter((n) => n !== undefined).map(Number)

  mkdirSync(dir, { recursive: true })
  let number = Math.max(1, ...numbers())
  let size = statSync(nameOf(number), { throwIfNoEntry: false })?.size ?? 0
  let fd = openSync(nameOf(number), 'a')
  const queue: Buffer[] = []
  let writing = false
  let closed = false
  const waiting: Array<(err?: Error | null) => void> = []

  const rotate = () => {
    closeSync(fd)
    number++
    fd = openSync(nameOf(number), 'a')
    size = 0
    // Everything older than the newest `keep` rotated files goes, whichever run wrote it.
    for (const n of numbers()) if (n < number - options.keep) unlinkSync(nameOf(n))
  }

  /** take removes the next queued chunks that fit in the current file (at least one), rotating first when none fits. */
  const take = (): Buffer => {
    if (size > 0 && size + queue[0]!.length > options.maxBytes) rotate()
    let bytes = 0
    let count = 0
    while (count < queue.length && (count === 0 || size + bytes + queue[count]!.length <= options.maxBytes)) bytes += queue[count++]!.length
    const chunk = count === 1 ? queue[0]! : Buffer.concat(queue.slice(0, count), bytes)
    queue.splice(0, count)
    return chunk
  }

  const settle = (err: Error | null) => {
    if (queue.length > 0 || writing) return
    for (const cb of waiting.splice(0)) cb(err)
  }

  const pump = () => {
    if (writing || closed || queue.length === 0) return settle(null)
    writing = true
    const chunk = take()
    const writeAll = (offset: number) => {
      write(fd, chunk, offset, chunk.length - offset, null, (err, n) => {
        if (err) {
          writing = false
          process.stderr.write(`backplane: cannot write LOG_FILE ${path}: ${err.message}\n`)
          return settle(err)
        }
        size += n
        if (offset + n < chunk.length) return writeAll(offset + n)
        writing = false
        pump()
      })
    }
    writeAll(0)
  }

  const flushSync = () => {
    // At exit: what is queued is written now; a write in flight finishes on its own (appends keep both whole).
    if (closed) return
    while (queue.length > 0) {
      const chunk = take()
      writeSync(fd, chunk)
      size += chunk.length
    }
  }

  return {
    write (chunk) {
      if (closed) return
      queue.push(chunk)
      pump()
    },
    flushSync,
    flush (cb) {
      waiting.push(cb)
      pump()
    },
    end () {
      flushSync()
      if (writing) waiting.push(() => { closeSync(fd) })
      else closeSync(fd)
      closed = true
    }
  }
}
