// Posts under a workspace, one file per concern in routes/: writing, bulk upload, the scheduling state
// machine (with approvals and retries), the calendar, and each account's posting slots and queue.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { postRouteKit, type PostRouteDeps } from './routes/common.ts';
import { writeRoutes } from './routes/write.ts';
import { bulkRoutes } from './routes/bulk.ts';
import { schedulingRoutes } from './routes/scheduling.ts';
import { calendarRoutes } from './routes/calendar.ts';
import { queueRoutes } from './routes/queue.ts';

export type { PostRouteDeps } from './routes/common.ts';

export const postRoutes: FastifyPluginAsyncTypebox<PostRouteDeps> = async (app, d) => {
  const k = postRouteKit(d);
  writeRoutes(app, k);
  bulkRoutes(app, k);
  schedulingRoutes(app, k);
  calendarRoutes(app, k);
  queueRoutes(app, k);
};
