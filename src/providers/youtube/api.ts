// Calls to the YouTube Data API v3 (https://developers.google.com/youtube/v3/docs): `https://www.googleapis.com/youtube/v3/<resource>`
// with `Authorization: Bearer <token>`, JSON answers; uploads go to `https://www.googleapis.com/upload/youtube/v3/…`
// (upload.ts). Errors are mapped by errors.ts.
import type { HttpClient, HttpResponse } from '../../infra/http/client.ts';
import { adapterCalls, type AdapterCalls } from '../request.ts';
import { PROVIDER, youtubeError } from './errors.ts';

export const YOUTUBE_API_URL = 'https://www.googleapis.com';

export interface YouTubeApi extends AdapterCalls {
  /** Where /youtube/v3 and /upload/youtube/v3 are. */
  readonly base: string;
  /** The HTTP client itself, for the token endpoint (oauth2.ts speaks to it directly). */
  readonly http: HttpClient;
  get<T>(token: string, path: string, operation: string): Promise<{ body: T; res: HttpResponse }>;
}

export function youtubeApi(http: HttpClient, baseUrl: string): YouTubeApi {
  const base = baseUrl.replace(/\/+$/, '');
  const calls = adapterCalls(http, { provider: PROVIDER, error: youtubeError });
  return {
    ...calls,
    base,
    http,
    async get<T>(token: string, path: string, operation: string) {
      const res = await calls.call({ method: 'GET', url: `${base}/youtube/v3${path}`, operation, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
      return { body: calls.read<T>(res, operation), res };
    },
  };
}
