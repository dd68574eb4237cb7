// The posts module's public surface: what other modules use of it.
export { enqueue } from './jobs.ts';
export type { Account, Post, Target } from './model.ts';
export type { PostScheduling } from './scheduling.ts';
export type { PostValidator } from './validation.ts';
export type { Count, Problem } from './validate.ts';
export type { PostsService } from './service.ts';
export type { PostInput } from './model.ts';
export type { Recurrence } from './schema.ts';
// What the MCP tools share with the posts routes: the request schemas, the way a schedule is read and a post shown, the approval rule.
export { PostBody, ScheduleBody, assertMayScheduleDirectly, presentPost, specOf } from './routes/common.ts';
export { CalendarQuery } from './routes/calendar.ts';
