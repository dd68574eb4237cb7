// The accounts module's public surface: the connected-accounts table other modules join, and the service
// they are given.
export { socialAccounts } from './schema.ts';
export type { AccountService } from './service.ts';
export { publicAccount } from './service.ts';
export { describeNetworks } from './networks.ts';
