CREATE TABLE "queue_runners" (
	"pool_id" text PRIMARY KEY NOT NULL,
	"worker_id" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL
);
