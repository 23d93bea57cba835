// pino-roll ships no type declarations; this is the part Backplane calls. The stream it resolves
// to is a sonic-boom (pino's own asynchronous file stream).
declare module 'pino-roll' {
  export interface RollStream {
    write: (line: string) => boolean
    flushSync: () => void
    end: () => void
  }
  export interface PinoRollOptions {
    file: string
    size?: string | number
    frequency?: string | number
    mkdir?: boolean
    limit?: { count?: number, removeOtherLogFiles?: boolean }
    /** sonic-boom's batching: gather at least this many bytes per write, and write what is held every periodicFlush ms. */
    minLength?: number
    periodicFlush?: number
  }
  export default function roll (options: PinoRollOptions): Promise<RollStream>
}
