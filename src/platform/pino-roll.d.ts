// pino-roll ships no type declarations; this is the part Backplane calls. The stream it resolves
// to is a sonic-boom (pino's own asynchronous file stream).
declare module 'pino-roll' {
  export interface RollStream {
    write: (chunk: string | Buffer) => boolean
    flushSync: () => void
    flush: (cb: (err?: Error | null) => void) => void
    end: () => void
  }
  export interface PinoRollOptions {
    file: string
    size?: string | number
    frequency?: string | number
    mkdir?: boolean
    limit?: { count?: number, removeOtherLogFiles?: boolean }
    /** sonic-boom's content mode: 'buffer' takes Buffers (Backplane hands it whole batches). */
    contentMode?: 'utf8' | 'buffer'
  }
  export default function roll (options: PinoRollOptions): Promise<RollStream>
}
