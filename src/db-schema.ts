// Drizzle table definitions. Each domain module owns its tables; this file gathers them for drizzle-kit,
// which generates the SQL migrations in drizzle/ from it (`npm run db:generate`). It lives beside app.ts,
// not in infra/, because it names every module and infra/ names none.
export * from './infra/db/schema/system.ts';
export * from './modules/auth/schema.ts';
export * from './modules/workspaces/schema.ts';
export * from './modules/api-keys/schema.ts';
export * from './modules/audit/schema.ts';
export * from './modules/mail/schema.ts';
export * from './modules/accounts/schema.ts';
export * from './modules/posts/schema.ts';
export * from './modules/media/schema.ts';
export * from './modules/webhooks/schema.ts';
export * from './modules/analytics/schema.ts';
export * from './modules/publishing/schema.ts';
export * from './modules/inbox/schema.ts';
export * from './modules/assistant/schema.ts';
export * from './modules/links/schema.ts';
export * from './modules/feeds/schema.ts';
export * from './modules/sso/schema.ts';
export * from './modules/templates/schema.ts';
