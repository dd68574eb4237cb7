// Signing in to a Lemmy instance: POST /api/v3/user/login {username_or_email, password} answers {jwt}
// (absent when the account still waits for email verification or an admin's approval), and
// GET /api/v3/site with the JWT names the person (my_user.local_user_view.person). A login token has no
// expiry of its own (UNCONFIRMED in the docs); "refresh" checks it still names the person, and revoking is
// POST /api/v3/user/logout, which ends that login. Two-factor accounts need a TOTP code at each login,
// which AllIN cannot type: they are refused with a message that says so.
// (https://join-lemmy.org/api/classes/LemmyHttp.html#login, #getSite, #logout)
import { ProviderError, type AccountRef, type ConnectedIdentity, type TokenSet } from '../types.ts';
import { PROVIDER, requireHost, type LemmyApi } from './api.ts';

interface Person { id?: unknown; name?: unknown; display_name?: unknown; avatar?: unknown; actor_id?: unknown }
interface SiteResponse { version?: unknown; my_user?: { local_user_view?: { person?: Person } } }

/**
 * Lemmy 0.19 takes the login token as `Authorization: Bearer`; older versions wanted it as an `auth`
 * parameter in every request, which AllIN does not send: they are refused with that said.
 */
export function supportedVersion(version: unknown): boolean {
  const m = typeof version === 'string' ? /^(\d+)\.(\d+)/.exec(version) : null;
  return !!m && (Number(m[1]) > 0 || Number(m[2]) >= 19);
}

const REFUSALS: Record<string, string> = {
  incorrect_login: 'the instance refused this username and password',
  missing_totp_token: 'this account uses two-factor authentication, which AllIN cannot answer at each login; use an account without it for publishing',
  incorrect_totp_token: 'this account uses two-factor authentication, which AllIN cannot answer at each login',
  email_not_verified: 'the account\'s email address is not verified yet',
  registration_application_pending: 'the account waits for an admin to approve it',
  registration_denied: 'the instance denied this account\'s registration',
};

export function lemmySession(api: LemmyApi) {
  async function me(host: string, tokens: TokenSet): Promise<Person> {
    const res = await api.call({ method: 'GET', url: `${api.base(host)}/api/v3/site`, operation: 'getSite', headers: api.bearer(tokens) });
    const site = api.read<SiteResponse>(res, 'getSite');
    if (!supportedVersion(site.version)) {
      throw new ProviderError('permanent', `Lemmy: ${host} runs Lemmy ${typeof site.version === 'string' ? site.version.slice(0, 20) : '(unknown version)'}; AllIN speaks Lemmy 0.19 or newer`, { provider: PROVIDER, reason: 'unsupported_version' });
    }
    const person = site.my_user?.local_user_view?.person;
    if (!person || typeof person.id !== 'number' || typeof person.name !== 'string') {
      throw new ProviderError('auth_expired', 'Lemmy: the instance does not know this login any more; reconnect the account', { provider: PROVIDER, reason: 'not_logged_in' });
    }
    return person;
  }

  return {
    async signIn(username: string, password: string, hostInput: string | undefined): Promise<{ tokens: TokenSet; host: string; identities: ConnectedIdentity[] }> {
      const host = requireHost(hostInput);
      const res = await api.send({ method: 'POST', url: `${api.base(host)}/api/v3/user/login`, operation: 'login', body: { username_or_email: username.trim(), password } });
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        const err = api.fail('login', res);
        const why = REFUSALS[err.details.reason ?? ''];
        if (err.details.reason === 'incorrect_login') throw new ProviderError('auth_expired', `Lemmy: ${why}`, { provider: PROVIDER, reason: 'incorrect_login' });
        if (why) throw new ProviderError('permanent', `Lemmy: ${why}`, { provider: PROVIDER, status: res.status, reason: why });
        throw err;
      }
      if (res.status < 200 || res.status >= 300) throw api.fail('login', res);
      const jwt = api.read<{ jwt?: unknown }>(res, 'login').jwt;
      if (typeof jwt !== 'string' || jwt === '') {
        throw new ProviderError('permanent', 'Lemmy: the instance gave no login token (the account waits for email verification or approval)', { provider: PROVIDER, reason: 'no_jwt' });
      }
      const tokens = { accessToken: jwt };
      const person = await me(host, tokens);
      const name = person.name as string;
      return {
        tokens, host,
        identities: [{
          externalId: String(person.id), kind: 'person', username: `${name}@${host}`,
          displayName: typeof person.display_name === 'string' && person.display_name ? person.display_name : name,
          ...(typeof person.avatar === 'string' && person.avatar.startsWith('https://') ? { avatarUrl: person.avatar } : {}),
          ...(typeof person.actor_id === 'string' ? { profileUrl: person.actor_id } : {}),
          data: { personId: person.id },
        }],
      };
    },

    async refresh(account: AccountRef & { host?: string }): Promise<TokenSet> {
      const person = await me(requireHost(account.host), account.tokens);
      if (String(person.id) !== account.externalId) throw new ProviderError('auth_expired', 'Lemmy: this login now names another person; reconnect the account', { provider: PROVIDER, reason: 'other_person' });
      return account.tokens;
    },

    async revoke(account: AccountRef): Promise<void> {
      await api.call({ method: 'POST', url: `${api.base(requireHost(account.host))}/api/v3/user/logout`, operation: 'logout', headers: api.bearer(account.tokens), body: {} });
    },
  };
}
