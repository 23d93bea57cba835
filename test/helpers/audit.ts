import { and, desc, eq, isNull, type SQL } from 'drizzle-orm'
import { auditEvents, type AuditRow } from '../../src/modules/audit/table.ts'
import type { TestApp } from './app.ts'

/** AuditExpectation names the audit row a test waits for; `actorId: null` means "no actor". */
export interface AuditExpectation {
  action: string
  outcome: AuditRow['outcome']
  actorId?: string | null
  targetId?: string | null
  requestId?: string
}

/** auditRows returns the stored audit rows matching an expectation, newest first. */
export async function auditRows (t: TestApp, expected: AuditExpectation): Promise<AuditRow[]> {
  const where: SQL[] = [eq(auditEvents.action, expected.action), eq(auditEvents.outcome, expected.outcome)]
  if (expected.actorId !== undefined) where.push(expected.actorId === null ? isNull(auditEvents.actorId) : eq(auditEvents.actorId, expected.actorId))
  if (expected.targetId !== undefined) where.push(expected.targetId === null ? isNull(auditEvents.targetId) : eq(auditEvents.targetId, expected.targetId))
  if (expected.requestId !== undefined) where.push(eq(auditEvents.requestId, expected.requestId))
  return t.app.db.select().from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
}

/**
 * expectAudit waits until the audit log holds a row matching `expected` (events are written in
 * batches, a few tens of milliseconds after the request) and returns the newest one; it throws,
 * naming what it looked for and the actions it did see, when none appears within `timeoutMs`.
 * @example
 * const row = await expectAudit(t, { action: 'auth.login', outcome: 'failure', requestId: 'req-1' })
 */
export async function expectAudit (t: TestApp, expected: AuditExpectation, { timeoutMs = 5_000 }: { timeoutMs?: number } = {}): Promise<AuditRow> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const [row] = await auditRows(t, expected)
    if (row) return row
    if (Date.now() >= deadline) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const seen = await t.app.db.select({ action: auditEvents.action, outcome: auditEvents.outcome, requestId: auditEvents.requestId })
    .from(auditEvents).orderBy(desc(auditEvents.createdAt)).limit(10)
  throw new Error(`no audit row ${JSON.stringify(expected)} within ${timeoutMs} ms; latest rows: ${JSON.stringify(seen)}`)
}
