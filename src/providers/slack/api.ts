// Calls to Slack's Web API (https://docs.slack.dev/apis/web-api/): every method is `<base>/<method>` with the token
// as a Bearer header; reads go as GET with query arguments, writes as POST with a JSON body (chat.postMessage) or a
// urlencoded form (the file-upload methods take forms only). The answer is `{ok: true, …}` or `{ok: false, error}`,
// both HTTP 200; errors.ts maps the second and any other status. The file bytes go to the upload URL Slack names,
// which is not Slack's API host: it gets no token, and is sent through the private-address guard.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { malformed } from '../errors.ts';
import { adapterCalls } from '../request.ts';
import { PROVIDER, slackError, slackRefusal } from './errors.ts';

export const SLACK_API_URL = 'https://slack.com/api';

export interface SlackApi {
  readonly base: string;
  /** A read method: query arguments, a GET. */
  read<T>(token: string, method: string, args?: Record<string, string>): Promise<T>;
  /** A write method: a JSON body, or a form when `form` is set. `creates`: the call posts a message. */
  write<T>(token: string, method: string, args: Record<string, unknown>, opts?: { form?: boolean; creates?: boolean; noToken?: boolean }): Promise<T>;
  /** The bytes of a file to the URL files.getUploadURLExternal gave. */
  upload(url: string, bytes: Buffer, mimeType: string): Promise<void>;
}

export function slackApi(http: HttpClient, baseUrl: string): SlackApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: slackError });
  const result = <T>(res: HttpResponse, method: string, creates: boolean): T => {
    const body = calls.read<{ ok?: unknown; error?: unknown }>(res, method, creates);
    if (body.ok === false) throw slackRefusal(method, body, creates, res.status);
    if (body.ok !== true) throw malformed(PROVIDER, method, creates, res.status);
    return body as T;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    base,
    async read<T>(token: string, method: string, args: Record<string, string> = {}) {
      const q = new URLSearchParams(args).toString();
      const res = await calls.call({ method: 'GET', url: `${base}/${method}${q ? `?${q}` : ''}`, operation: method, headers: bearer(token) });
      return result<T>(res, method, false);
    },
    async write<T>(token: string, method: string, args: Record<string, unknown>, opts: { form?: boolean; creates?: boolean; noToken?: boolean } = {}) {
      const creates = opts.creates === true;
      const body = opts.form
        ? new URLSearchParams(Object.entries(args).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
        : args;
      const res = await calls.call({
        method: 'POST', url: `${base}/${method}`, operation: method, body,
        headers: opts.noToken ? {} : bearer(token), retryUnsent: true,
      }, creates);
      return result<T>(res, method, creates);
    },
    async upload(url, bytes, mimeType) {
      // The upload URL comes from Slack's answer: a host AllIN did not choose, so the guard applies.
      await calls.call({ method: 'POST', url, operation: 'file_upload', body: bytes, headers: { 'content-type': 'application/octet-stream', 'x-file-type': mimeType }, userSuppliedHost: true, media: true });
    },
  };
}
