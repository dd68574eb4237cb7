// The templates module's public surface: the service (templates and hashtag groups) and its routes.
export { TemplateService } from './service.ts';
export { templateRoutes } from './routes.ts';
