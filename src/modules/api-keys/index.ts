// The api-keys module's public surface: what other modules use of it.
export { revokeKeysCreatedBy } from './service.ts';
export type { ApiKeyService } from './service.ts';
