// Drizzle table definitions. Each domain module owns its tables; this file gathers them for drizzle-kit,
// which generates the SQL migrations in drizzle/ from it (`npm run db:generate`).
export * from './schema/system.ts';
