// A Discord target's options and embeds, checked the same way when the post is saved
// (src/modules/posts/validate.ts, also in the composer) and before it is sent (messages.ts). Pure: no
// imports, so the web app can run it. Limits from https://discord.com/developers/docs/resources/message#embed-object-embed-limits
// (title 256, description 4096, 25 fields of 256/1024, footer 2048, author 256, 6000 in all) and
// https://discord.com/developers/docs/resources/webhook#execute-webhook (up to 10 embeds; thread_name for
// forum and media channels). "Characters" are counted as UTF-16 units, which never under-counts
// (the unit is not stated: UNCONFIRMED).

export interface DiscordEmbed {
  title?: string;
  description?: string;
  url?: string;
  /** 0xRRGGBB as an integer. */
  color?: number;
  footer?: { text: string };
  author?: { name: string; url?: string };
  image?: { url: string };
  thumbnail?: { url: string };
  fields?: { name: string; value: string; inline?: boolean }[];
}

/** The options a Discord target takes. */
export interface DiscordOptions {
  /** In a forum or media channel: the title of the post (thread) the message starts (thread_name, 1-100). */
  threadName?: string;
  /** Post into this existing thread of the webhook's channel (thread_id), e.g. an existing forum post. */
  threadId?: string;
  /** Send without notifying anyone (the SUPPRESS_NOTIFICATIONS flag). */
  silent?: boolean;
  /** Rich embeds under the text, at most 10. */
  embeds?: DiscordEmbed[];
}

export const DISCORD_OPTION_KEYS = ['threadName', 'threadId', 'silent', 'embeds'] as const;
export const MAX_EMBEDS = 10;
export const EMBED_TOTAL = 6000;
const LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, author: 256 };
const EMBED_KEYS = ['title', 'description', 'url', 'color', 'footer', 'author', 'image', 'thumbnail', 'fields'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUrl = (v: unknown) => typeof v === 'string' && v.length <= 2048 && /^https?:\/\/[^\s]+$/i.test(v);

/** Each problem with the options, in words a person can act on; empty when they fit. */
export function discordOptionProblems(options: Record<string, unknown> | undefined): string[] {
  const o = options ?? {};
  const out: string[] = [];
  for (const k of Object.keys(o)) if (!(DISCORD_OPTION_KEYS as readonly string[]).includes(k)) out.push(`"${k}" is not an option (Discord takes ${DISCORD_OPTION_KEYS.join(', ')})`);
  if (o.threadName !== undefined && (typeof o.threadName !== 'string' || o.threadName.trim().length < 1 || o.threadName.length > 100)) out.push('threadName is the title of a forum post: 1 to 100 characters');
  if (o.threadId !== undefined && (typeof o.threadId !== 'string' || !/^\d{15,21}$/.test(o.threadId))) out.push('threadId is a thread\'s numeric id (copy it with Developer Mode on)');
  if (o.threadName !== undefined && o.threadId !== undefined) out.push('threadName starts a new forum post and threadId posts into an existing thread: give one, not both');
  if (o.silent !== undefined && typeof o.silent !== 'boolean') out.push('silent is true or false');
  if (o.embeds !== undefined) {
    if (!Array.isArray(o.embeds)) out.push('embeds is a list of embeds');
    else {
      if (o.embeds.length > MAX_EMBEDS) out.push(`a message holds at most ${MAX_EMBEDS} embeds; this has ${o.embeds.length}`);
      let total = 0;
      o.embeds.forEach((e: unknown, i) => {
        const at = `embed ${i + 1}`;
        if (!isObj(e)) { out.push(`${at} is not an object`); return; }
        for (const k of Object.keys(e)) if (!EMBED_KEYS.includes(k)) out.push(`${at}: "${k}" is not a field AllIN sends (${EMBED_KEYS.join(', ')})`);
        const text = (v: unknown, name: string, max: number, required = false): number => {
          if (v === undefined && !required) return 0;
          if (typeof v !== 'string' || (required && v.trim() === '')) { out.push(`${at}: ${name} is text${required ? ' and may not be empty' : ''}`); return 0; }
          if (v.length > max) out.push(`${at}: ${name} holds at most ${max} characters; this is ${v.length}`);
          return v.trim().length;
        };
        total += text(e.title, 'title', LIMITS.title) + text(e.description, 'description', LIMITS.description);
        if (e.url !== undefined && !isUrl(e.url)) out.push(`${at}: url is an http(s) link`);
        if (e.color !== undefined && (!Number.isInteger(e.color) || (e.color as number) < 0 || (e.color as number) > 0xffffff)) out.push(`${at}: color is a number from 0 to 16777215 (0xRRGGBB)`);
        if (e.footer !== undefined) total += isObj(e.footer) ? text(e.footer.text, 'footer.text', LIMITS.footer, true) : (out.push(`${at}: footer is { text }`), 0);
        if (e.author !== undefined) {
          if (!isObj(e.author)) out.push(`${at}: author is { name, url? }`);
          else {
            total += text(e.author.name, 'author.name', LIMITS.author, true);
            if (e.author.url !== undefined && !isUrl(e.author.url)) out.push(`${at}: author.url is an http(s) link`);
          }
        }
        for (const k of ['image', 'thumbnail'] as const) {
          if (e[k] !== undefined && (!isObj(e[k]) || !isUrl((e[k] as Record<string, unknown>).url))) out.push(`${at}: ${k} is { url } with an http(s) link`);
        }
        if (e.fields !== undefined) {
          if (!Array.isArray(e.fields)) out.push(`${at}: fields is a list`);
          else {
            if (e.fields.length > LIMITS.fields) out.push(`${at}: at most ${LIMITS.fields} fields; this has ${e.fields.length}`);
            e.fields.forEach((f: unknown, j) => {
              if (!isObj(f)) { out.push(`${at}: field ${j + 1} is { name, value, inline? }`); return; }
              total += text(f.name, `field ${j + 1} name`, LIMITS.fieldName, true) + text(f.value, `field ${j + 1} value`, LIMITS.fieldValue, true);
              if (f.inline !== undefined && typeof f.inline !== 'boolean') out.push(`${at}: field ${j + 1} inline is true or false`);
            });
          }
        }
        const own = ['title', 'description', 'footer', 'author', 'fields', 'image', 'thumbnail'].some((k) => e[k] !== undefined);
        if (!own) out.push(`${at} is empty: give it a title, a description, fields, an image or an author`);
      });
      if (total > EMBED_TOTAL) out.push(`the embeds hold ${total} characters in all; Discord allows ${EMBED_TOTAL}`);
    }
  }
  return out;
}

/** The options as the adapter uses them; call only when discordOptionProblems found none. */
export function readDiscordOptions(options: Record<string, unknown> | undefined): DiscordOptions {
  const o = options ?? {};
  return {
    ...(typeof o.threadName === 'string' ? { threadName: o.threadName.trim() } : {}),
    ...(typeof o.threadId === 'string' ? { threadId: o.threadId } : {}),
    ...(o.silent === true ? { silent: true } : {}),
    ...(Array.isArray(o.embeds) && o.embeds.length > 0 ? { embeds: o.embeds as DiscordEmbed[] } : {}),
  };
}
