// The posts module's public surface: what other modules use of it.
export { enqueue } from './jobs.ts';
export type { Account, Post, Target } from './model.ts';
export type { PostScheduling } from './scheduling.ts';
export type { PostValidator } from './validation.ts';
export type { Count, Problem } from './validate.ts';
