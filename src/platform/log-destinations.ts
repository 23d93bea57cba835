import type { DestinationStream } from 'pino'

/** Sink is a byte stream the log batch is written to: a sonic-boom in buffer mode (stdout) or the rotating LOG_FILE (log-file.ts). */
export interface Sink {
  write: (chunk: Buffer) => unknown
  flushSync: () => void
  flush?: (cb: (err?: Error | null) => void) => void
  end: () => void
}

/** LogDestination is what pino writes its lines to, with what `logger.flush()` and the exit need. */
export type LogDestination = DestinationStream & {
  flush: (cb?: (err?: Error | null) => void) => void
  flushSync: () => void
  end: () => void
}

/** BATCH_CHARS and BATCH_MS bound a batch: handed on at 16 KiB of text, or a tenth of a second after its first line. */
const BATCH_CHARS = 16 * 1024
const BATCH_MS = 100

/**
 * batchedLog gathers pino's lines into one string and hands every sink the same Buffer, at 16 KiB
 * or 100 ms after the batch's first line, whichever comes first: under load one encoding and one
 * system call per sink carry dozens of lines, and a quiet server's lines still appear within a
 * tenth of a second. Writing each line to each sink (pino.multistream over sonic-booms) measured
 * at ~18 µs a request line with stdout and LOG_FILE, a third of the pipeline, most of it measuring
 * and flattening every line once per sink. What is held is written synchronously when the process
 * exits (process.exit, an uncaught exception), to every sink.
 */
export function batchedLog (sinks: readonly Sink[]): LogDestination {
  let held = ''
  let timer: NodeJS.Timeout | undefined
  const handOn = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer)
      timer = undefined
    }
    if (held === '') return
    const chunk = Buffer.from(held)
    held = ''
    for (const sink of sinks) sink.write(chunk)
  }
  const flushSync = (): void => {
    handOn()
    for (const sink of sinks) {
      try { sink.flushSync() } catch { /* a write in flight, or the file is gone: nothing more to do at exit */ }
    }
  }
  process.once('exit', flushSync)
  return {
    write (line: string) {
      held += line
      if (held.length >= BATCH_CHARS) handOn()
      // Unreferenced: a held batch never keeps a finished process alive (the exit writes it).
      else timer ??= setTimeout(handOn, BATCH_MS).unref()
    },
    flush (cb) {
      handOn()
      let left = sinks.length
      let failed: Error | null = null
      const one = (err?: Error | null): void => {
        failed ??= err ?? null
        if (--left === 0) cb?.(failed)
      }
      if (left === 0) cb?.(null)
      for (const sink of sinks) {
        if (sink.flush) sink.flush(one)
        else one()
      }
    },
    flushSync,
    end () {
      handOn()
      process.removeListener('exit', flushSync)
      for (const sink of sinks) sink.end()
    }
  }
}
