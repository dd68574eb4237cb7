// A Slack target's options, checked the same way when the post is saved (src/modules/posts/validate.ts, also in the
// composer) and before it is sent (posts.ts). Pure: no imports, so the web app can run it. A post names its channel
// (an AllIN account is a workspace); custom blocks follow Block Kit's limits as chat.postMessage states them: at most
// 50 blocks (https://docs.slack.dev/reference/methods/chat.postMessage#arg_blocks), each an object with a `type`
// (https://docs.slack.dev/reference/block-kit/blocks). Slack checks the blocks themselves and says invalid_blocks.

export interface SlackOptions {
  /** The channel: its id (C…, G…) or its name (#general), among the channels the app is in. */
  channel: string;
  /** Block Kit blocks sent instead of the ones AllIN builds from the text (which then is the notification text). */
  blocks?: Record<string, unknown>[];
  /** Let Slack unfurl text links (unfurl_links). */
  unfurlLinks?: boolean;
  /** Replies of a thread also appear in the channel (reply_broadcast). */
  broadcast?: boolean;
}

export const SLACK_OPTION_KEYS = ['channel', 'blocks', 'unfurlLinks', 'broadcast'] as const;
export const MAX_BLOCKS = 50;
export const CHANNEL_ID = /^[CG][A-Z0-9]{6,20}$/;
const CHANNEL_NAME = /^#?[a-z0-9][a-z0-9._-]{0,79}$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Each problem with the options, in words a person can act on; empty when they fit. */
export function slackOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(SLACK_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (Slack takes ${SLACK_OPTION_KEYS.join(', ')})`);
  if (o.channel === undefined) out.push('channel is required: the channel to post in, by name (#general) or id (C0123ABCD)');
  else if (typeof o.channel !== 'string' || !(CHANNEL_ID.test(o.channel) || CHANNEL_NAME.test(o.channel))) out.push('channel is a channel\'s name (#general) or id (C0123ABCD)');
  if (o.unfurlLinks !== undefined && typeof o.unfurlLinks !== 'boolean') out.push('unfurlLinks is true or false');
  if (o.broadcast !== undefined && typeof o.broadcast !== 'boolean') out.push('broadcast is true or false');
  if (o.blocks !== undefined) {
    if (!Array.isArray(o.blocks)) out.push('blocks is a list of Block Kit blocks');
    else {
      if (o.blocks.length === 0 || o.blocks.length > MAX_BLOCKS) out.push(`a message holds 1 to ${MAX_BLOCKS} blocks; this has ${o.blocks.length}`);
      o.blocks.forEach((b: unknown, i) => {
        if (!isObj(b) || typeof b.type !== 'string' || b.type === '') out.push(`block ${i + 1} is not a Block Kit block (an object with a type)`);
      });
      if (JSON.stringify(o.blocks).length > 100_000) out.push('the blocks are too large');
    }
  }
  return out;
}
