CREATE TABLE "account_metrics_collection" (
	"account_id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"next_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_success_at" timestamp with time zone,
	"days_through" date,
	"failures" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"refused_at" timestamp with time zone,
	"refused_reason" text,
	"insights_refused_at" timestamp with time zone,
	"insights_refused_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "account_snapshots" (
	"account_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"day" date NOT NULL,
	"followers" bigint,
	"following" bigint,
	"posts" bigint,
	"reach" bigint,
	"impressions" bigint,
	"profile_views" bigint,
	"engagement" bigint,
	"collected_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_snapshots_account_id_day_pk" PRIMARY KEY("account_id","day")
);
--> statement-breakpoint
ALTER TABLE "account_metrics_collection" ADD CONSTRAINT "account_metrics_collection_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_snapshots" ADD CONSTRAINT "account_snapshots_account_id_social_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."social_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_metrics_collection_due_idx" ON "account_metrics_collection" USING btree ("next_at");