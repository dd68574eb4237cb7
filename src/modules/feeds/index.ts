// The feeds module's public surface: the service, its job and its routes.
export { FeedService, FETCH_FEEDS_TASK } from './service.ts';
export { FeedFetcher } from './fetch.ts';
export { feedRoutes } from './routes.ts';
