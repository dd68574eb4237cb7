CREATE TABLE "provider_send_journal" (
	"provider" text NOT NULL,
	"key" text NOT NULL,
	"value" jsonb NOT NULL,
	"first_sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_send_journal_provider_key_pk" PRIMARY KEY("provider","key")
);
--> statement-breakpoint
CREATE INDEX "provider_send_journal_updated_idx" ON "provider_send_journal" USING btree ("updated_at");