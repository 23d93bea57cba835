/**
 * jsonDepthExceeds reports whether a JSON text nests objects/arrays deeper than `max`, scanning
 * the raw text so a hostile 20,000-deep document is refused before any parsing work.
 */
export function jsonDepthExceeds (text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > max) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}
