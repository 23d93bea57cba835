import { sql, type SQL } from 'drizzle-orm'

// A last word made only of letters and digits, at the start or after a space: nothing in it can be
// tsquery syntax, so `<word>:*` is always a valid query for to_tsquery.
const LAST_WORD = /(^|\s)([\p{L}\p{N}]{1,100})$/u
const TRAILING_OR = /(^|\s)or$/i

/**
 * projectSearchQuery turns `q` into a tsquery: PostgreSQL's `websearch_to_tsquery('simple', q)`
 * (quotes, `or`, `-word`; it accepts any text without error), with the last word also matching as
 * a prefix so that "bac" finds "backend" while the user is still typing. The text only ever reaches
 * PostgreSQL as bound parameters. Returns undefined when q is blank.
 */
export function projectSearchQuery (q: string | undefined): SQL | undefined {
  const text = q?.trim()
  if (!text) return undefined
  // An odd number of quotes leaves the last word inside a phrase: no prefix there.
  const quotes = text.split('"').length - 1
  const last = quotes % 2 === 0 ? LAST_WORD.exec(text) : null
  if (!last) return sql`websearch_to_tsquery('simple', ${text}::text)`
  const word = last[2]!
  let head = text.slice(0, text.length - word.length).trimEnd()
  // "alpha or bac" means alpha OR bac*: keep the `or` as the operator joining the prefix.
  const or = TRAILING_OR.test(head) && head.length > 2
  if (or) head = head.slice(0, -2).trimEnd()
  const prefix = sql`to_tsquery('simple', ${`${word}:*`}::text)`
  if (!head) return prefix
  const rest = sql`websearch_to_tsquery('simple', ${head}::text)`
  return or ? sql`(${rest} || ${prefix})` : sql`(${rest} && ${prefix})`
}
