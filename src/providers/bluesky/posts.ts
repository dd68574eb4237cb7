// Posting to Bluesky (https://docs.bsky.app/docs/advanced-guides/posts): an app.bsky.feed.post record with its
// facets, images or link card (https://docs.bsky.app/docs/advanced-guides/posts#website-card-embeds), reply
// references and languages, written by com.atproto.repo.createRecord and carrying the marker hash
// (records.ts); a post's counts from the AppView (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts);
// its deletion (https://docs.bsky.app/docs/api/com-atproto-repo-delete-record).
import { malformed } from '../errors.ts';
import { postMetrics } from '../post-metrics.ts';
import { blueskyTextProblem } from '../text.ts';
import { ProviderError, type AccountRef, type LinkCardSource, type MediaLimits, type PostMetrics, type PublishRequest, type PublishedPost } from '../types.ts';
import { resolveFacets } from './facets.ts';
import type { BlueskyHosts } from './hosts.ts';
import type { BlueskyIdentity } from './identity.ts';
import { checkImages, uploadBlob, uploadImage, type ImageEmbed } from './media.ts';
import { MARKER_FIELD, POST, markerHash, parsePostId, parseRemoteId, toRemoteId, type StrongRef } from './records.ts';
import { xrpcBody, type RecordAnswer, type Xrpc } from './xrpc.ts';

const PROVIDER = 'bluesky';

export interface BlueskyPosts {
  publish(account: AccountRef, post: PublishRequest): Promise<PublishedPost>;
  metrics(account: AccountRef, remoteId: string): Promise<PostMetrics>;
  deletePost(account: AccountRef, remoteId: string): Promise<void>;
}

export function blueskyPosts(x: Xrpc, hosts: BlueskyHosts, identity: BlueskyIdentity, limits: MediaLimits, linkCards: LinkCardSource | undefined): BlueskyPosts {
  const recordAt = (account: AccountRef, pds: string, ref: ReturnType<typeof parsePostId>) => readPost(x, account, pds, ref);

  /** reply.root is the parent's root when the parent is itself a reply, else the parent (https://docs.bsky.app/docs/advanced-guides/posts). */
  const replyRefs = async (account: AccountRef, pds: string, replyTo: string): Promise<{ root: StrongRef; parent: StrongRef }> => {
    // A collected message is named by its at-uri alone: its cid is the one the network has now.
    const parentRef = parsePostId(replyTo);
    const found = await recordAt(account, pds, parentRef);
    if (!found) {
      throw new ProviderError('permanent', `bluesky: the post being replied to (${parentRef.uri}) does not exist`, { provider: PROVIDER, reason: 'reply_target_missing' });
    }
    const parent = { uri: parentRef.uri, cid: parentRef.cid || found.cid };
    const value = found.value;
    const root = (value.reply as { root?: { uri?: unknown; cid?: unknown } } | undefined)?.root;
    return { root: root && typeof root.uri === 'string' && typeof root.cid === 'string' ? { uri: root.uri, cid: root.cid } : parent, parent };
  };

  return {
    async publish(account, post) {
      const did = account.externalId;
      const pds = hosts.pdsFor(account);
      const tooLong = blueskyTextProblem(post.text);
      if (tooLong) throw new ProviderError('permanent', `bluesky: ${tooLong}`, { provider: PROVIDER, reason: 'text_too_long' });
      checkImages(limits, post.media);
      const facets = await resolveFacets(post.text, identity.resolveHandle);
      const reply = post.replyTo ? await replyRefs(account, pds, post.replyTo) : undefined;
      // A post without images shows its first link as a card, which the poster builds (docs.bsky.app/docs/advanced-guides/posts#website-card-embeds).
      const link = post.media.length === 0 && post.options?.linkCard !== false && linkCards
        ? facets.flatMap((f) => f.features).find((f) => f.$type === 'app.bsky.richtext.facet#link') : undefined;
      const card = link ? await linkCards!.card((link as { uri: string }).uri) : null;
      // Uploaded last: unreferenced blobs are garbage-collected soon, so the record follows at once.
      const images: ImageEmbed[] = [];
      for (const m of post.media) images.push(await uploadImage(x, account, pds, m));
      const thumb = card?.thumb ? await uploadBlob(x, account, pds, card.thumb.bytes, card.thumb.mimeType) : undefined;
      const external = card ? { $type: 'app.bsky.embed.external', external: { uri: card.uri, title: card.title, description: card.description, ...(thumb ? { thumb } : {}) } } : undefined;
      const langs = langsOf(post.options);
      const record = {
        $type: POST,
        text: post.text,
        createdAt: new Date().toISOString(),
        ...(langs.length ? { langs } : {}),
        ...(facets.length ? { facets } : {}),
        ...(images.length ? { embed: { $type: 'app.bsky.embed.images', images } } : external ? { embed: external } : {}),
        ...(reply ? { reply } : {}),
        [MARKER_FIELD]: markerHash(post.marker),
      };
      const res = await x.xrpcCall({
        method: 'POST', base: pds, nsid: 'com.atproto.repo.createRecord', what: 'publish', creates: true, token: account.tokens.accessToken,
        body: { repo: did, collection: POST, record },
      });
      const created = x.read<{ uri?: unknown; cid?: unknown }>(res, 'publish', true);
      let ref: ReturnType<typeof parseRemoteId>;
      try {
        ref = parseRemoteId(toRemoteId({ uri: String(created.uri ?? ''), cid: String(created.cid ?? '') }));
      } catch {
        throw malformed(PROVIDER, 'publish', true);
      }
      return { remoteId: toRemoteId(ref), url: hosts.postUrl(ref.did, ref.rkey) };
    },

    async metrics(account, remoteId) {
      const ref = parseRemoteId(remoteId);
      // Counts live in the AppView, not the PDS (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts); the public one needs no session.
      const res = await x.xrpcCall({ method: 'GET', base: hosts.appview, nsid: 'app.bsky.feed.getPosts', what: 'metrics', query: { uris: [ref.uri] } });
      const { posts } = x.read<{ posts?: { uri?: unknown; likeCount?: unknown; repostCount?: unknown; replyCount?: unknown }[] }>(res, 'metrics');
      const p = Array.isArray(posts) ? posts.find((q) => q.uri === ref.uri) : undefined;
      if (!p) {
        if (await recordAt(account, hosts.pdsFor(account), ref)) {
          throw new ProviderError('transient', 'bluesky: the post is not in the AppView yet', { provider: PROVIDER, reason: 'not_indexed' });
        }
        throw new ProviderError('permanent', 'bluesky: the post no longer exists', { provider: PROVIDER, reason: 'deleted' });
      }
      return postMetrics({ likes: p.likeCount, reposts: p.repostCount, replies: p.replyCount });
    },

    async deletePost(account, remoteId) {
      const ref = parseRemoteId(remoteId);
      await x.xrpcCall({
        method: 'POST', base: hosts.pdsFor(account), nsid: 'com.atproto.repo.deleteRecord', what: 'delete_post', token: account.tokens.accessToken,
        body: { repo: account.externalId, collection: ref.collection, rkey: ref.rkey },
      });
    },
  };
}

/**
 * The record at a post's id (its cid too), or null when there is none: from the account's own PDS when the post
 * is the account's, otherwise from the AppView through that PDS, with the session (the PDS proxies app.bsky.*
 * reads: https://docs.bsky.app/docs/advanced-guides/api-directory), as the inbox reads it.
 */
export async function readPost(x: Xrpc, account: AccountRef, pds: string, ref: ReturnType<typeof parsePostId>): Promise<{ value: Record<string, unknown>; cid: string } | null> {
  if (ref.did === account.externalId) {
    const res = await x.xrpcSend({ method: 'GET', base: pds, nsid: 'com.atproto.repo.getRecord', what: 'get_record', query: { repo: ref.did, collection: ref.collection, rkey: ref.rkey } });
    if (res.status === 400 && xrpcBody(res).error === 'RecordNotFound') return null;
    if (res.status < 200 || res.status >= 300) throw x.fail('get_record', res);
    const r = x.read<RecordAnswer>(res, 'get_record');
    return r.value && typeof r.value === 'object' && typeof r.cid === 'string' ? { value: r.value, cid: r.cid } : null;
  }
  const res = await x.xrpcCall({ method: 'GET', base: pds, nsid: 'app.bsky.feed.getPosts', what: 'get_record', token: account.tokens.accessToken, query: { uris: [ref.uri] } });
  const { posts } = x.read<{ posts?: { uri?: unknown; cid?: unknown; record?: Record<string, unknown> }[] }>(res, 'get_record');
  const p = Array.isArray(posts) ? posts.find((q) => q.uri === ref.uri) : undefined;
  return p?.record && typeof p.record === 'object' && typeof p.cid === 'string' ? { value: p.record, cid: p.cid } : null;
}

/** Up to three languages of the post (`options.langs`, or `options.language`), as BCP 47 tags. */
function langsOf(o: Record<string, unknown> | undefined): string[] {
  const raw = Array.isArray(o?.langs) ? o.langs : typeof o?.language === 'string' ? [o.language] : [];
  return raw.filter((l): l is string => typeof l === 'string' && /^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{1,8})*$/.test(l)).slice(0, 3);
}
