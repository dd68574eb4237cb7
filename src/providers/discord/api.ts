// Discord webhook calls (https://discord.com/developers/docs/resources/webhook): every call is
// `<api>/webhooks/<id>/<token>[/messages/<message id>]` and needs no other credential, so the token is
// part of the URL path. The metrics label a call by its operation alone, transport errors do not quote
// the path (infra/http/client.ts), and redactSecrets takes `webhooks/<id>/<token>` out of quoted text.
// The API base is the operator's setting (DISCORD_API_URL), never the host of the URL a user pasted.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { malformed } from '../errors.ts';
import { adapterCalls, isOk } from '../request.ts';
import { PROVIDER, discordError } from './errors.ts';

export interface WebhookRef { id: string; token: string }

export interface WebhookApi {
  /** GET /webhooks/{id}/{token}: the webhook object (no user), which proves the token. */
  get<T>(w: WebhookRef): Promise<T>;
  /** POST /webhooks/{id}/{token}?wait=true: the message it created. */
  execute<T>(w: WebhookRef, body: Record<string, unknown> | FormData, threadId?: string): Promise<T>;
  /** DELETE /webhooks/{id}/{token}/messages/{message id}: true when deleted, false when it was already gone. */
  deleteMessage(w: WebhookRef, messageId: string, threadId?: string): Promise<boolean>;
}

export function webhookApi(http: HttpClient, baseUrl: string): WebhookApi {
  const calls = adapterCalls(http, { provider: PROVIDER, error: discordError });
  const base = baseUrl.replace(/\/+$/, '');
  const path = (w: WebhookRef) => `${base}/webhooks/${encodeURIComponent(w.id)}/${encodeURIComponent(w.token)}`;
  return {
    async get<T>(w: WebhookRef) {
      const res = await calls.call({ method: 'GET', url: path(w), operation: 'getWebhook' });
      return calls.read<T>(res, 'getWebhook');
    },
    async execute<T>(w: WebhookRef, body: Record<string, unknown> | FormData, threadId?: string) {
      const q = new URLSearchParams({ wait: 'true', ...(threadId ? { thread_id: threadId } : {}) });
      const res: HttpResponse = await calls.call({
        method: 'POST', url: `${path(w)}?${q}`, operation: 'executeWebhook', body, ...(body instanceof FormData ? { media: true } : {}),
      }, true);
      // wait=true answers the message; a 204 would mean the wait was not honoured and nothing can be known.
      if (res.status === 204) throw malformed(PROVIDER, 'executeWebhook', true, res.status);
      return calls.read<T>(res, 'executeWebhook', true);
    },
    async deleteMessage(w: WebhookRef, messageId: string, threadId?: string) {
      const q = threadId ? `?${new URLSearchParams({ thread_id: threadId })}` : '';
      const res = await calls.send({ method: 'DELETE', url: `${path(w)}/messages/${encodeURIComponent(messageId)}${q}`, operation: 'deleteWebhookMessage' });
      if (isOk(res)) return true;
      const err = discordError('deleteWebhookMessage', res, false);
      // Unknown Message: already deleted (by someone in Discord, or by an earlier try).
      if (res.status === 404 && /\(10008\)/.test(err.details.reason ?? '')) return false;
      throw err;
    },
  };
}
