// The assistant module's public surface.
export { assistantRoutes } from './routes.ts';
export { AssistantService } from './service.ts';
export type { AssistantOptions, Feature, SuggestResult } from './service.ts';
export { AssistantSettings } from './settings.ts';
export { PromptBook } from './prompts.ts';
export { InboxClassifier, classifyInboxTask, enqueueClassification, CLASSIFY_INBOX_TASK } from './classify.ts';
export { mediaImage } from './alt-text.ts';
