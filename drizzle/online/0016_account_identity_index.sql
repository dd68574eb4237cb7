-- A network identity in every workspace that connected it, for what the network pushes (src/modules/accounts/service.ts, activeByIdentity).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "social_accounts_network_identity_idx" ON "social_accounts" USING btree ("provider","external_id","id");
