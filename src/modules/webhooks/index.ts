// The webhooks module's public surface: the event emitter other modules are given.
export type { EventEmitter } from './service.ts';
