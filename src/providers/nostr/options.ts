// The options a Nostr target takes, checked by one pure function when the post is saved
// (src/modules/posts/validate.ts) and again before signing: a content warning (NIP-36,
// https://github.com/nostr-protocol/nips/blob/master/36.md), shown by clients before the note.
export interface NostrOptions {
  contentWarning?: string;
}

export const NOSTR_OPTION_KEYS = ['contentWarning'] as const;
export const MAX_CONTENT_WARNING = 200;

export function nostrOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!(NOSTR_OPTION_KEYS as readonly string[]).includes(k)) problems.push(`unknown option "${k}" (Nostr takes ${NOSTR_OPTION_KEYS.join(', ')})`);
  const cw = o.contentWarning;
  if (cw !== undefined && (typeof cw !== 'string' || cw.length > MAX_CONTENT_WARNING)) problems.push(`contentWarning is a reason of at most ${MAX_CONTENT_WARNING} characters`);
  return problems;
}

export function readNostrOptions(options: Record<string, unknown> | undefined): NostrOptions {
  const cw = options?.contentWarning;
  return typeof cw === 'string' ? { contentWarning: cw } : {};
}
