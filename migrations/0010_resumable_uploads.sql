ALTER TABLE "files" ADD COLUMN "upload_offset" bigint;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "upload_parts" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "upload_pending" text[] DEFAULT '{}'::text[] NOT NULL;