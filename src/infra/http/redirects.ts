// GET a URL a user gave (a link card's page, a feed), following redirects by hand so that every hop is a
// request of its own through the HTTP client, with the private-address guard: a public host that
// redirects to this machine or its network is refused at that hop. Only http and https are followed.
import type { HttpClient, HttpRequest, HttpResponse } from './client.ts';

/** Why a URL gave no answer to read: not http(s), not a URL, or too many redirects. The message says which. */
export class UnfollowableUrlError extends Error {
  readonly code = 'ALLIN_HTTP_UNFOLLOWABLE';
  constructor(message: string) {
    super(message);
    this.name = 'UnfollowableUrlError';
  }
}

export interface FollowedResponse {
  res: HttpResponse;
  /** Where the answer came from, after the redirects. */
  url: string;
}

/**
 * GETs `url` and the redirects it leads to, at most `maxRedirects` of them, each hop as a user-supplied host.
 * The answer of the last hop is returned whatever its status (a 304 to a conditional request, a 404); a 3xx
 * without a Location is returned too. Transport errors (the guard's refusal included) reach the caller.
 */
export async function getFollowingRedirects(
  http: Pick<HttpClient, 'request'>,
  url: string,
  req: Omit<HttpRequest, 'method' | 'url' | 'userSuppliedHost' | 'body'>,
  maxRedirects: number,
): Promise<FollowedResponse> {
  let current = url;
  for (let hop = 0; hop <= maxRedirects; hop++) {
    let parsed: URL;
    try {
      parsed = new URL(current);
    } catch {
      throw new UnfollowableUrlError(hop === 0 ? 'not a URL' : 'redirected to something that is not a URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new UnfollowableUrlError(`${hop === 0 ? 'only' : 'redirected to a link that is not'} http or https${hop === 0 ? ' links are fetched' : ''}`);
    }
    const res = await http.request({ ...req, method: 'GET', url: current, userSuppliedHost: true });
    if (res.status >= 300 && res.status < 400 && res.status !== 304 && res.headers.location) {
      try {
        current = new URL(res.headers.location, current).toString();
      } catch {
        throw new UnfollowableUrlError('redirected to something that is not a URL');
      }
      continue;
    }
    return { res, url: current };
  }
  throw new UnfollowableUrlError(`more than ${maxRedirects} redirects`);
}
