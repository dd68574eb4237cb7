CREATE TABLE "assistant_budget" (
	"workspace_id" uuid NOT NULL,
	"month" date NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL,
	"reserved" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "assistant_budget_workspace_id_month_pk" PRIMARY KEY("workspace_id","month")
);
--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD COLUMN "ai_intent" text;
--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD COLUMN "ai_urgency" text;
--> statement-breakpoint
ALTER TABLE "inbox_conversations" ADD COLUMN "ai_classified_message_at" timestamp with time zone;
--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD COLUMN "ai_intent" text;
--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD COLUMN "ai_sentiment" text;
--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD COLUMN "ai_urgency" text;
--> statement-breakpoint
ALTER TABLE "inbox_messages" ADD COLUMN "ai_classified_at" timestamp with time zone;
--> statement-breakpoint
ALTER TABLE "assistant_settings" ADD COLUMN "vision" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE "assistant_budget" ADD CONSTRAINT "assistant_budget_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
-- The months already used, from the usage rows the budget was summed from until now.
INSERT INTO "assistant_budget" ("workspace_id", "month", "used")
SELECT "workspace_id", date_trunc('month', "created_at" AT TIME ZONE 'UTC')::date, sum("input_tokens" + "output_tokens")
  FROM "assistant_usage" GROUP BY 1, 2;
