import type { Database } from '../../platform/db.ts'
import type { JobQueue } from '../../platform/queue-port.ts'
import type { AuditContext, SecurityEvents } from '../../platform/security-events.ts'

/**
 * createDeadLetters sends dead letters back to their queue for another round of attempts, audited as
 * `queue.dead_letter_retried`. The queue (pg-boss or RabbitMQ) takes no part in this database's
 * transactions, so the audit row is written in a transaction of its own as soon as the retry is
 * done, and awaited: the caller hears of success only once the row is stored.
 */
export function createDeadLetters ({ db, queue, audit }: { db: Database, queue: JobQueue, audit: SecurityEvents }) {
  return {
    /** retry sends one dead letter back; false when there is no such dead letter. */
    async retry (name: string, id: string, context: AuditContext): Promise<boolean> {
      if (!(await queue.retryDeadLetter(name, id))) return false
      await db.transaction(async (tx) => {
        await audit.record(context, { action: 'queue.dead_letter_retried', outcome: 'success', targetType: 'job', targetId: id, details: { queue: name } }, tx)
      })
      return true
    }
  }
}

/** DeadLetters is the dead-letter service. */
export type DeadLetters = ReturnType<typeof createDeadLetters>
