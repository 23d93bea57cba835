import { sql } from 'drizzle-orm'
import type { Database } from '../../platform/db.ts'

// drizzle-kit generates tables, not triggers: the guard is installed by the module's seed, which
// runs at every start (and in every test app), so it is there before the first request.
const FUNCTION = sql.raw(`
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$`)

// Created only when missing: dropping and re-creating would take an exclusive lock on the table at
// every start while other nodes are writing to it.
const TRIGGER = sql.raw(`
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND tgname = 'audit_events_append_only') THEN
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
  END IF;
END
$$`)

// Several nodes starting at once would race on the catalog ("tuple concurrently updated").
const LOCK = sql`SELECT pg_advisory_xact_lock(hashtextextended('backplane:audit_events_append_only', 0))`

/**
 * installAppendOnlyGuard makes audit_events append-only in the database (SECURITY.md LG-04): a
 * statement trigger refuses every UPDATE, DELETE and TRUNCATE with SQLSTATE 42501. Idempotent.
 */
export async function installAppendOnlyGuard (db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(LOCK)
    await tx.execute(FUNCTION)
    await tx.execute(TRIGGER)
  })
}
