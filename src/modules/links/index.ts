// The links module's public surface: what other modules and the composition root use of it.
export { LinkService, type PublishTexts } from './service.ts';
export { ClickCounter } from './clicks.ts';
export { LinkRedirects } from './redirect.ts';
export { linkRedirectRoutes, linkRoutes } from './routes.ts';
