/*
 * A framework's config file (vite.config.ts, astro.config.mjs, nuxt.config.ts…) is code. Running it
 * would run whatever the workspace's author (or an attacker who planted the file) wrote, so it is
 * only ever read as text: comments dropped, then literal object properties picked out by position.
 * This understands the plain literal shapes generators and docs write; anything cleverer is left
 * alone, and the caller falls back to the framework's default.
 */

/** ConfigProperty is one `key: value` found in config text, with how deeply nested it is. */
export interface ConfigProperty {
  key: string
  depth: number
  value: string
}

/** stripComments removes `//` and `/* *\/` comments that are not inside a string literal. */
export function stripComments (text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = stringEnd(text, i)
      out += text.slice(i, end)
      i = end
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
      out += ' '
    } else {
      out += ch
      i++
    }
  }
  return out
}

/** stringEnd is the index just after the string literal that starts at `start`. */
function stringEnd (text: string, start: number): number {
  const quote = text[start]
  let i = start + 1
  while (i < text.length) {
    if (text[i] === '\\') {
      i += 2
      continue
    }
    if (text[i] === quote) return i + 1
    // A quote string cannot span lines: stop there rather than swallow the rest of the file.
    if (text[i] === '\n' && quote !== '`') return i
    i++
  }
  return text.length
}

const KEY = /^(?:([A-Za-z_$][\w$]*)|'([^'\n]*)'|"([^"\n]*)")\s*:/

/**
 * properties lists every `key: value` in comment-free config text, in order, with its nesting depth
 * counted in braces, brackets and parentheses. Only keys right after `{` or `,` count, which keeps
 * `a ? b : c` and type annotations out.
 */
export function properties (text: string): ConfigProperty[] {
  const found: ConfigProperty[] = []
  let depth = 0
  let lastSignificant = '{'
  let i = 0
  while (i < text.length) {
    const ch = text[i] ?? ''
    if (ch === '"' || ch === "'" || ch === '`') {
      if (lastSignificant === '{' || lastSignificant === ',') {
        const match = KEY.exec(text.slice(i, i + 200))
        if (match !== null) {
          found.push({ key: match[2] ?? match[3] ?? '', depth, value: valueAt(text, i + match[0].length) })
        }
      }
      i = stringEnd(text, i)
      lastSignificant = ch
      continue
    }
    if (/[A-Za-z_$]/.test(ch) && (lastSignificant === '{' || lastSignificant === ',')) {
      const match = KEY.exec(text.slice(i, i + 200))
      if (match !== null) found.push({ key: match[1] ?? '', depth, value: valueAt(text, i + match[0].length) })
    }
    if (ch === '{' || ch === '[' || ch === '(') depth++
    else if (ch === '}' || ch === ']' || ch === ')') depth--
    if (!/\s/.test(ch)) lastSignificant = ch
    i++
  }
  return found
}

/** valueAt reads the expression that starts at `start`, up to the `,` or closing bracket that ends it. */
function valueAt (text: string, start: number): string {
  let depth = 0
  let i = start
  while (i < text.length) {
    const ch = text[i]
    if (ch === '"' || ch === "'" || ch === '`') {
      i = stringEnd(text, i)
      continue
    }
    if (ch === '{' || ch === '[' || ch === '(') depth++
    else if (ch === '}' || ch === ']' || ch === ')') {
      if (depth === 0) break
      depth--
    } else if (ch === ',' && depth === 0) break
    i++
  }
  return text.slice(start, i).trim()
}

/**
 * objectProperty finds the object literal written as `key: { … }` nearest the top of the config
 * (so `test.server` of Vitest loses to Vite's own `server`), and returns the properties written
 * directly inside it, or null when there is none.
 */
export function objectProperty (text: string, key: string): Map<string, string> | null {
  const candidates = properties(text).filter((p) => p.key === key && p.value.startsWith('{'))
  if (candidates.length === 0) return null
  const outermost = candidates.reduce((best, p) => (p.depth < best.depth ? p : best))
  const inner = outermost.value.slice(1, outermost.value.lastIndexOf('}'))
  const own = new Map<string, string>()
  for (const p of properties(inner)) {
    if (p.depth === 0 && !own.has(p.key)) own.set(p.key, p.value)
  }
  return own
}

/** importedModules lists the module names a config file imports or requires. */
export function importedModules (text: string): Set<string> {
  const out = new Set<string>()
  const pattern = /\bfrom\s*['"]([^'"\n]+)['"]|\bimport\s*\(?\s*['"]([^'"\n]+)['"]|\brequire\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g
  for (const match of text.matchAll(pattern)) out.add(match[1] ?? match[2] ?? match[3] ?? '')
  return out
}

/** stringLiteral is the text of a plain string literal expression, or null for anything else. */
export function stringLiteral (expression: string): string | null {
  const match = /^(['"`])([^'"`$\\\n]*)\1$/.exec(expression.trim())
  return match === null ? null : match[2] ?? null
}
