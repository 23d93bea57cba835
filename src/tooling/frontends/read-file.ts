import { open } from 'node:fs/promises'

/** MAX_FILE_BYTES is the largest file the detector reads: no real manifest or config comes close. */
export const MAX_FILE_BYTES = 1024 * 1024

/** FileRead is a file's text, or why it could not be had. */
export type FileRead =
  | { ok: true, text: string }
  | { ok: false, missing: boolean, message: string }

/**
 * readSmallText reads a UTF-8 text file of at most MAX_FILE_BYTES. A larger file is refused
 * without reading it, so a stray multi-gigabyte file never slows a scan or fills memory.
 */
export async function readSmallText (file: string): Promise<FileRead> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, missing: true, message: 'not found' }
    return { ok: false, missing: false, message: `cannot be read (${code ?? (err as Error).message})` }
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) return { ok: false, missing: false, message: 'is not a regular file' }
    if (stats.size > MAX_FILE_BYTES) return { ok: false, missing: false, message: `is larger than 1 MiB (${stats.size} bytes) and was not read` }
    // Read no more than the size just checked, even if the file grows meanwhile.
    const buffer = Buffer.alloc(stats.size)
    const { bytesRead } = await handle.read(buffer, 0, stats.size, 0)
    const text = buffer.subarray(0, bytesRead).toString('utf8')
    // A byte-order mark is legal at the start of a UTF-8 file but not in JSON.
    return { ok: true, text: text.charCodeAt(0) === 0xFEFF ? text.slice(1) : text }
  } catch (err) {
    return { ok: false, missing: false, message: `cannot be read (${(err as Error).message})` }
  } finally {
    await handle.close()
  }
}

/** JsonRead is a parsed JSON object, absent, or the reason it is unusable. */
export type JsonRead =
  | { ok: true, value: Record<string, unknown> }
  | { ok: false, missing: boolean, message: string }

/** readJsonObject reads a small JSON file whose top level must be an object. */
export async function readJsonObject (file: string): Promise<JsonRead> {
  const read = await readSmallText(file)
  if (!read.ok) return read
  let value: unknown
  try {
    value = JSON.parse(read.text)
  } catch (err) {
    // V8 quotes the start of the text, newlines included: one line keeps the problems list a list.
    return { ok: false, missing: false, message: `invalid JSON: ${(err as Error).message.replace(/\s*\n\s*/g, ' ')}` }
  }
  if (!isRecord(value)) return { ok: false, missing: false, message: 'must be a JSON object' }
  return { ok: true, value }
}

/** isRecord tells a plain object (a JSON object) from arrays, null and scalars. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** stringRecord keeps the string-valued entries of a manifest field, ignoring anything malformed. */
export function stringRecord (value: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  if (!isRecord(value)) return out
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') out[key] = entry
  }
  return out
}

/** yamlMessage is the first line of a YAML parser error (the rest is a picture of the file), without its trailing colon. */
export function yamlMessage (err: unknown): string {
  return ((err as Error).message.split('\n')[0] ?? '').replace(/:\s*$/, '')
}
