// What the three Meta adapters (facebook.ts, instagram.ts, threads.ts) share, in the parts under
// meta-graph/: errors.ts (Meta's error envelope and throttling headers → ProviderError kinds), call.ts
// (one Graph call: versioned base URL, access_token, the JSON answer, paging), tokens.ts (app secret,
// long-lived tokens and their refresh), media.ts (media checks, container polling) and reconcile.ts (the
// record of publish attempts and finding a post again after an unknown outcome). Each adapter keeps only
// what is its own network's. Docs: https://developers.facebook.com/docs/graph-api
export { graphError, graphErrorOf, metaRetryAfterMs, permanent, type GraphErrorBody } from './meta-graph/errors.ts';
export { dataOf, graphApi, graphCall, graphPages, need, type GraphApi, type GraphCall, type Params } from './meta-graph/call.ts';
export { DEFAULT_GRAPH_VERSION, LONG_LIVED_SECONDS, appSecret, refreshLongLived, tokenSetOf } from './meta-graph/tokens.ts';
export { DEFAULT_POLL, checkMedia, pollUntil, requirePublicUrls, waitForContainer, type PollOptions } from './meta-graph/media.ts';
export {
  PublishAttempts, anyPublished, containersOf, insightValue, oldestMatch, parseGraphTime, permalinkOf, sameText, searchFrom, unknownMarker, type Attempt,
} from './meta-graph/reconcile.ts';
export { signatureOf, validSignature } from './meta-graph/webhooks.ts';
