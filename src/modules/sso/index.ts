// The sso module's public surface.
export { SsoService } from './service.ts';
export { ssoAuthRoutes, ssoWorkspaceRoutes } from './routes.ts';
