// A Reddit target's options, checked by one pure function when the post is saved (src/modules/posts/validate.ts, also
// in the composer) and again before sending: the subreddit (chosen per post), the title (1-300 characters), a link
// (a link post), the flair (a template id from the subreddit's link_flair_v2, and its text when the template lets the
// user edit it), NSFW, spoiler, and whether replies go to the user's inbox
// (https://www.reddit.com/dev/api#POST_api_submit). Pure: no imports, so the web app runs it too.

export interface RedditOptions {
  subreddit: string;
  title: string;
  url?: string;
  flairId?: string;
  flairText?: string;
  nsfw?: boolean;
  spoiler?: boolean;
  sendReplies?: boolean;
}

export const REDDIT_OPTION_KEYS = ['subreddit', 'title', 'url', 'flairId', 'flairText', 'nsfw', 'spoiler', 'sendReplies'] as const;
export const MAX_TITLE = 300;
/** flair_text: "a string no longer than 64 characters" (POST /api/submit). */
export const MAX_FLAIR_TEXT = 64;
const SUBREDDIT = /^(?:\/?r\/)?([A-Za-z0-9][A-Za-z0-9_]{1,20})$/;
const FLAIR_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The subreddit's name without r/, or undefined when it is not one. */
export function subredditName(v: unknown): string | undefined {
  return typeof v === 'string' ? SUBREDDIT.exec(v.trim())?.[1] : undefined;
}

export function redditOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(REDDIT_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (Reddit takes ${REDDIT_OPTION_KEYS.join(', ')})`);
  if (!subredditName(o.subreddit)) out.push('subreddit is required: the subreddit\'s name (r/name or name)');
  if (typeof o.title !== 'string' || o.title.trim() === '') out.push('title is required: a Reddit post has a title');
  else if ([...o.title].length > MAX_TITLE) out.push(`the title holds at most ${MAX_TITLE} characters`);
  if (o.url !== undefined) {
    let ok = false;
    try {
      const u = new URL(String(o.url));
      ok = typeof o.url === 'string' && (u.protocol === 'https:' || u.protocol === 'http:') && o.url.length <= 2000;
    } catch { /* not a URL */ }
    if (!ok) out.push('url is a link (https://…)');
  }
  if (o.flairId !== undefined && (typeof o.flairId !== 'string' || !FLAIR_ID.test(o.flairId))) out.push('flairId is a flair template\'s id (a UUID from the subreddit\'s flairs)');
  if (o.flairText !== undefined && (typeof o.flairText !== 'string' || o.flairText.length > MAX_FLAIR_TEXT)) out.push(`flairText is at most ${MAX_FLAIR_TEXT} characters`);
  if (o.flairText !== undefined && o.flairId === undefined) out.push('flairText goes with a flairId whose text may be edited');
  for (const k of ['nsfw', 'spoiler', 'sendReplies'] as const) if (o[k] !== undefined && typeof o[k] !== 'boolean') out.push(`${k} is true or false`);
  return out;
}

export function readRedditOptions(options: Record<string, unknown> | undefined): RedditOptions {
  const o = options ?? {};
  return {
    subreddit: subredditName(o.subreddit)!, title: String(o.title).trim(),
    ...(typeof o.url === 'string' ? { url: o.url } : {}),
    ...(typeof o.flairId === 'string' ? { flairId: o.flairId } : {}),
    ...(typeof o.flairText === 'string' ? { flairText: o.flairText } : {}),
    ...(o.nsfw === true ? { nsfw: true } : {}), ...(o.spoiler === true ? { spoiler: true } : {}),
    ...(o.sendReplies === false ? { sendReplies: false } : {}),
  };
}
