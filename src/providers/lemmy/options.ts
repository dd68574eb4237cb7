// The options a Lemmy target takes, checked by one pure function when the post is saved
// (src/modules/posts/validate.ts) and again before sending: the community to post to (`name`, or
// `name@instance` for a community of another instance that this one federates), the post's title, an
// optional link, and NSFW. (https://join-lemmy.org/api/interfaces/CreatePost.html,
// https://join-lemmy.org/api/interfaces/GetCommunity.html)
export interface LemmyOptions {
  community: string;
  title: string;
  url?: string;
  nsfw?: boolean;
}

export const LEMMY_OPTION_KEYS = ['community', 'title', 'url', 'nsfw'] as const;
/** Lemmy's title limit (UNCONFIRMED: 200 in the server's validation, not in the API reference). */
export const MAX_TITLE = 200;
export const MAX_URL = 512;
const COMMUNITY = /^[a-z0-9_]{1,50}(@[a-z0-9.-]+(:\d+)?)?$/i;

export function lemmyOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!(LEMMY_OPTION_KEYS as readonly string[]).includes(k)) problems.push(`unknown option "${k}" (Lemmy takes ${LEMMY_OPTION_KEYS.join(', ')})`);
  if (typeof o.community !== 'string' || !COMMUNITY.test(o.community.trim().replace(/^!/, ''))) problems.push('community is required: the community\'s name, or name@instance');
  if (typeof o.title !== 'string' || o.title.trim() === '') problems.push('title is required: a Lemmy post has a title');
  else if ([...o.title].length > MAX_TITLE) problems.push(`the title holds at most ${MAX_TITLE} characters`);
  if (o.url !== undefined) {
    let ok = false;
    try {
      const u = new URL(String(o.url));
      ok = typeof o.url === 'string' && (u.protocol === 'https:' || u.protocol === 'http:') && o.url.length <= MAX_URL;
    } catch { /* not a URL */ }
    if (!ok) problems.push(`url is a link (https://…) of at most ${MAX_URL} characters`);
  }
  if (o.nsfw !== undefined && typeof o.nsfw !== 'boolean') problems.push('nsfw is true or false');
  return problems;
}

export function readLemmyOptions(options: Record<string, unknown> | undefined): LemmyOptions {
  const o = options ?? {};
  return {
    community: String(o.community).trim().replace(/^!/, ''), title: String(o.title).trim(),
    ...(typeof o.url === 'string' ? { url: o.url } : {}), ...(o.nsfw === true ? { nsfw: true } : {}),
  };
}
