/** MAX_NAME_BYTES bounds a file name in UTF-8 bytes, as most file systems do. */
export const MAX_NAME_BYTES = 255

// Control characters, format characters (bidi overrides, zero-width) and line/paragraph separators:
// invisible or misleading in a name shown to people, and unsafe in a header.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu
const RESERVED = /[<>:"|?*]/g

/**
 * sanitiseFileName turns a client's file name into one safe to show and to offer on download:
 * only its last path component (no `../`, no drive or folder), no invisible or reserved
 * characters, no leading dots, at most 255 UTF-8 bytes (the extension kept). Undefined when nothing is left.
 */
export function sanitiseFileName (input: string): string | undefined {
  const last = input.normalize('NFC').split(/[/\\]/).at(-1) ?? ''
  const name = last.replace(INVISIBLE, '').replace(RESERVED, '_').trim().replace(/^\.+/, '').trim()
  if (name === '') return undefined
  return truncateUtf8(name, MAX_NAME_BYTES)
}

function truncateUtf8 (name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name
  const dot = name.lastIndexOf('.')
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ''
  const budget = max - Buffer.byteLength(ext)
  let stem = ''
  // By code point, so a character is never cut in half.
  for (const char of name.slice(0, name.length - ext.length)) {
    if (Buffer.byteLength(stem + char) > budget) break
    stem += char
  }
  return stem + ext
}

/** contentDisposition is the `attachment` header value: an ASCII `filename` for old clients and the exact name as RFC 5987 `filename*`. */
export function contentDisposition (name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
