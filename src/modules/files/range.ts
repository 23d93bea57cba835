import type { ByteRange } from '../../platform/storage.ts'

/**
 * parseRange reads a `Range` header against a file's size (RFC 9110 §14): one `bytes=` range,
 * `start-end`, `start-` or `-suffix`. Undefined means "send it all" (no header, several ranges or
 * another unit or a reversed range, which a server may ignore); `unsatisfiable` when it lies outside
 * the file (the caller answers 416 with `Content-Range: bytes *\/size`).
 */
export function parseRange (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) return undefined
  const [, first = '', last = ''] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}
