ALTER TABLE "executions" ADD COLUMN "trace_context" jsonb;--> statement-breakpoint
ALTER TABLE "outbox" ADD COLUMN "trace_context" jsonb;--> statement-breakpoint
ALTER TABLE "queue_outbox" ADD COLUMN "trace_context" jsonb;