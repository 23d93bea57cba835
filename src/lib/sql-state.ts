/**
 * sqlState returns the PostgreSQL SQLSTATE of an error, looking through the causes Drizzle wraps
 * driver errors in (`23505` unique violation, `23503` foreign key violation …).
 */
export function sqlState (err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

/** violatedConstraint returns the name of the constraint an error with this SQLSTATE broke, or undefined for another error. */
export function violatedConstraint (err: unknown, state: string): string | undefined {
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    if ((e as { code?: unknown }).code === state) return String((e as { constraint?: unknown }).constraint ?? '')
  }
  return undefined
}

/** isUniqueViolation tells whether an insert or update hit a unique constraint. */
export const isUniqueViolation = (err: unknown): boolean => sqlState(err) === '23505'

/** isForeignKeyViolation tells whether a write named a row that does not exist (or no longer does). */
export const isForeignKeyViolation = (err: unknown): boolean => sqlState(err) === '23503'
