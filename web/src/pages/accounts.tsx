// Social accounts: connect per network (OAuth: the browser goes to the network and comes back to
// /accounts?connected=… or ?connect_error=…; Bluesky: handle and app password; Telegram: chat and bot
// token; Discord: a channel's webhook URL; Nostr: relays and a secret key; Lemmy: instance,
// username and password), status, reconnect, disconnect.
import { useEffect, useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { setQuery, useLocation } from '../router.ts';
import { CONNECT_ERRORS, dateTime, relative } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AccountList, Answer, Network } from '../types.ts';
import { Avatar, Badge, Button, ConfirmButton, Empty, ErrorNote, ExternalLink, Field, Loading, Page, Submit, toast, useAction, useLoad } from '../ui.tsx';

export function providerName(networks: Network[], id: string): string {
  return networks.find((n) => n.id === id)?.displayName ?? id;
}

/** Starts the OAuth round trip: the API binds it to this browser with a cookie, then the browser leaves. */
async function startConnect(workspaceId: string, provider: string, extra: { host?: string; accountId?: string } = {}): Promise<void> {
  const r = await api.post<{ authorizationUrl: string }>(`/api/workspaces/${workspaceId}/accounts/connect`, { provider, ...extra });
  location.assign(r.authorizationUrl);
}

function ConnectNetwork({ network }: { network: Network }) {
  const { workspace } = useApp();
  const [host, setHost] = useState('');
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [run, busy] = useAction();
  if (network.connect === 'webhook_url') {
    // Discord: the webhook URL carries its token, so it goes as the password and is cleared once sent.
    return (
      <form class="card connect-card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await api.post<Answer<'/api/workspaces/{workspaceId}/accounts/credentials', 'post', 201>>(wsPath(workspace, '/accounts/credentials'), {
            provider: network.id, password: password.trim(),
          });
          setPassword('');
          return r;
        }, (r) => `Connected ${r.accounts.map((a) => a.username).join(', ')} on ${network.displayName}.`).then((r) => { if (r) dispatchEvent(new Event('allin:accounts')); });
      }}>
        <h3>{network.displayName}</h3>
        <Field label="Webhook URL" hint="In the channel's settings: Integrations → Webhooks → New Webhook → Copy Webhook URL (https://discord.com/api/webhooks/…). Keep it secret: anyone with it can post there.">
          {(p) => <input {...p} type="password" required autoComplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <Submit busy={busy} kind="secondary">Connect {network.displayName}</Submit>
      </form>
    );
  }
  if (network.connect === 'login') {
    // Lemmy: the password is sent once to log in; only the login token the instance answers is kept.
    return (
      <form class="card connect-card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await api.post<Answer<'/api/workspaces/{workspaceId}/accounts/credentials', 'post', 201>>(wsPath(workspace, '/accounts/credentials'), {
            provider: network.id, identifier: identifier.trim(), password, host: host.trim(),
          });
          setPassword('');
          return r;
        }, (r) => `Connected ${r.accounts.map((a) => a.username).join(', ')} on ${network.displayName}.`).then((r) => { if (r) dispatchEvent(new Event('allin:accounts')); });
      }}>
        <h3>{network.displayName}</h3>
        <Field label="Instance" hint="e.g. lemmy.world">{(p) => <input {...p} required value={host} onInput={(e) => setHost(e.currentTarget.value)} />}</Field>
        <Field label="Username or email">{(p) => <input {...p} required autoComplete="username" value={identifier} onInput={(e) => setIdentifier(e.currentTarget.value)} />}</Field>
        <Field label="Password" hint="Used once to log in; AllIN keeps only the login token the instance gives. Accounts with two-factor authentication cannot be used.">
          {(p) => <input {...p} type="password" required autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <Submit busy={busy} kind="secondary">Connect {network.displayName}</Submit>
      </form>
    );
  }
  if (network.connect === 'secret_key') {
    // Nostr: the relays (and an optional media server) go as the identifier, the secret key as the password.
    return (
      <form class="card connect-card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await api.post<Answer<'/api/workspaces/{workspaceId}/accounts/credentials', 'post', 201>>(wsPath(workspace, '/accounts/credentials'), {
            provider: network.id, identifier: identifier.trim(), password: password.trim(),
          });
          setPassword('');
          return r;
        }, (r) => `Connected ${r.accounts.map((a) => a.username).join(', ')} on ${network.displayName}.`).then((r) => { if (r) dispatchEvent(new Event('allin:accounts')); });
      }}>
        <h3>{network.displayName}</h3>
        <Field label="Relays and media server" hint="The relays to publish to (wss://relay.example.com, up to 8, separated by spaces), and, to post images and videos, one Blossom media server (https://…).">
          {(p) => <textarea {...p} rows={2} required autoComplete="off" value={identifier} onInput={(e) => setIdentifier(e.currentTarget.value)} />}
        </Field>
        <Field label="Secret key" hint="nsec1… (or 64 hex characters). AllIN stores it encrypted and uses it only to sign your notes; anyone with it can post as you.">
          {(p) => <input {...p} type="password" required autoComplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <Submit busy={busy} kind="secondary">Connect {network.displayName}</Submit>
      </form>
    );
  }
  if (network.connect === 'app_password' || network.connect === 'bot_token') {
    // bot_token (Telegram): the chat goes in as the identifier and the bot's token as the password.
    const bot = network.connect === 'bot_token';
    return (
      <form class="card connect-card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await api.post<Answer<'/api/workspaces/{workspaceId}/accounts/credentials', 'post', 201>>(wsPath(workspace, '/accounts/credentials'), {
            provider: network.id, identifier: identifier.trim(), password: bot ? password.trim() : password, ...(host.trim() ? { host: host.trim() } : {}),
          });
          setPassword('');
          return r;
        }, (r) => `Connected ${r.accounts.map((a) => a.username).join(', ')} on ${network.displayName}.`).then((r) => { if (r) dispatchEvent(new Event('allin:accounts')); });
      }}>
        <h3>{network.displayName}</h3>
        {bot ? (
          <>
            <Field label="Channel or group" hint="@channelname, a t.me link, or the numeric chat id (-100…). Add your bot there as an administrator allowed to post.">
              {(p) => <input {...p} required autoComplete="off" value={identifier} onInput={(e) => setIdentifier(e.currentTarget.value)} />}
            </Field>
            <Field label="Bot token" hint="From @BotFather (/newbot or /token); it looks like 123456789:AA…">
              {(p) => <input {...p} type="password" required autoComplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
            </Field>
          </>
        ) : (
          <>
            <Field label="Handle or email">{(p) => <input {...p} required autoComplete="username" value={identifier} onInput={(e) => setIdentifier(e.currentTarget.value)} />}</Field>
            <Field label="App password" hint="Create one in the network's settings; not your account password.">
              {(p) => <input {...p} type="password" required autoComplete="off" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
            </Field>
          </>
        )}
        {network.userSuppliedHost && <Field label="Server (optional)">{(p) => <input {...p} value={host} onInput={(e) => setHost(e.currentTarget.value)} />}</Field>}
        <Submit busy={busy} kind="secondary">Connect {network.displayName}</Submit>
      </form>
    );
  }
  return (
    <form class="card connect-card" onSubmit={(e) => {
      e.preventDefault();
      void run(() => startConnect(workspace.id, network.id, network.userSuppliedHost ? { host: host.trim() } : {}));
    }}>
      <h3>{network.displayName}</h3>
      {network.userSuppliedHost && (
        <Field label="Your server" hint="e.g. mastodon.social">{(p) => <input {...p} required value={host} onInput={(e) => setHost(e.currentTarget.value)} />}</Field>
      )}
      <p class="meta">You sign in on {network.displayName} and come back here.</p>
      <Submit busy={busy} kind="secondary" disabled={network.userSuppliedHost && !host.trim()}>Connect {network.displayName}</Submit>
    </form>
  );
}

/** What the inbox collects from this account, as the network declares it (GET /api/networks). */
function inboxLine(n: Network, kind: string): string {
  const c = n.capabilities;
  const collected = c.inbox && (c.inboxAccountKinds === null || (c.inboxAccountKinds as string[]).includes(kind));
  if (collected) return `Inbox: collected.${c.inboxNotCollected ? ` Not collected: ${c.inboxNotCollected}` : ''}`;
  return `Inbox: not collected${c.inboxNotCollected ? `. Not collected from ${n.displayName}: ${c.inboxNotCollected}` : '.'}`;
}

export function Accounts() {
  const { workspace, networks, can } = useApp();
  const loc = useLocation();
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const [run] = useAction();
  const manage = can('accounts.manage');

  // Back from the network: say how it went, then clean the address.
  const connected = loc.search.get('connected');
  const connectError = loc.search.get('connect_error');
  const failedProvider = loc.search.get('provider');
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (connected) setOutcome({ ok: true, text: `${providerName(networks, connected)} account connected.` });
    else if (connectError) {
      setOutcome({ ok: false, text: `${failedProvider ? `${providerName(networks, failedProvider)}: ` : ''}${CONNECT_ERRORS[connectError] ?? `Connecting failed (${connectError}).`}` });
    }
    if (connected || connectError) setQuery({ connected: undefined, connect_error: undefined, provider: undefined, accounts: undefined });
  }, [connected, connectError, failedProvider, networks]);
  const reloadAccounts = accounts.reload;
  useEffect(() => {
    const l = () => reloadAccounts();
    addEventListener('allin:accounts', l);
    return () => removeEventListener('allin:accounts', l);
  }, [reloadAccounts]);

  const list = accounts.data?.accounts ?? [];
  return (
    <Page title="Accounts">
      {outcome && <p class={outcome.ok ? 'success' : 'error-note'} role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}
      <h2>Connected accounts</h2>
      {accounts.loading && !accounts.data && <Loading />}
      {accounts.error ? <ErrorNote error={accounts.error} retry={accounts.reload} /> : null}
      {accounts.data && list.length === 0 && <Empty>No account is connected yet.{manage ? ' Connect one below to start publishing.' : ' An owner or admin can connect one.'}</Empty>}
      {list.length > 0 && (
        <ul class="list" aria-label="Connected accounts">
          {list.map((a) => {
            const network = networks.find((n) => n.id === a.provider);
            return (
              <li key={a.id} class="list-item account">
                <Avatar url={a.avatarUrl} name={a.displayName || a.username} />
                <div class="grow">
                  <div><strong>{a.displayName || a.username}</strong> <span class="meta">{a.username} · {providerName(networks, a.provider)}{a.host ? ` (${a.host})` : ''}</span></div>
                  <div class="meta">
                    <Badge state={a.status} /> Connected {dateTime(a.connectedAt)}
                    {a.lastRefreshedAt ? ` · token renewed ${relative(a.lastRefreshedAt)}` : ''}
                    {a.profileUrl && <> · <ExternalLink href={a.profileUrl}>Profile</ExternalLink></>}
                  </div>
                  {a.statusReason && a.status !== 'active' && <p class="field-error">{a.statusReason}</p>}
                  {network && <p class="meta" data-testid="inbox-collection">{inboxLine(network, a.kind)}</p>}
                </div>
                {manage && (
                  <div class="row">
                    {network?.connect === 'oauth2' && a.status !== 'disconnected' && (
                      <Button small kind={a.status === 'needs_reconnect' ? 'primary' : 'secondary'} label={`Reconnect ${a.username}`}
                        onClick={() => run(() => startConnect(workspace.id, a.provider, { accountId: a.id, ...(a.host ? { host: a.host } : {}) }))}>
                        Reconnect
                      </Button>
                    )}
                    {a.status !== 'disconnected' && (
                      <ConfirmButton small label="Disconnect" question={`Disconnect ${a.username} on ${providerName(networks, a.provider)}? Posts scheduled for it will not be published. Its history is kept.`}
                        confirm="Disconnect" onConfirm={async () => {
                          await api.del(wsPath(workspace, `/accounts/${a.id}`));
                          toast.ok(`${a.username} disconnected.`);
                          accounts.reload();
                        }} />
                    )}
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {manage && (
        <>
          <h2>Connect an account</h2>
          {networks.length === 0 ? <Loading label="Loading networks…" /> : (
            <div class="grid-cards">{networks.map((n) => <ConnectNetwork key={n.id} network={n} />)}</div>
          )}
        </>
      )}
    </Page>
  );
}
