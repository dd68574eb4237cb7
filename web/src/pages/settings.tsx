// Settings: the workspace (name, time zone, approval), tracked links (shortening and UTM rules), each
// account's posting slots, webhooks with their delivery log, API keys, the writing assistant
// (assistant-settings.tsx), and the audit log. Tabs are links (/settings/<tab>), so each has an address and
// the browser's back button works.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { navigate, setQuery, useLocation } from '../router.ts';
import { dateTime, WEEKDAYS, zones } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AccountList, ApiKey, AuditEvent, Delivery, LinkRules, Member, Paged, Slots, Webhook, Workspace } from '../types.ts';
import { Badge, Button, ConfirmButton, Empty, ErrorNote, Field, fieldErrors, Link, Loading, Page, Submit, toast, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';
import { useStepUp } from '../step-up.tsx';
import { AssistantSettingsTab } from './assistant-settings.tsx';

const TABS: [string, string, string | null][] = [
  ['workspace', 'Workspace', null],
  ['links', 'Links', null],
  ['slots', 'Time slots', null],
  ['webhooks', 'Webhooks', 'webhooks.manage'],
  ['api-keys', 'API keys', 'apikeys.manage'],
  ['assistant', 'Assistant', 'assistant.manage'],
  ['sso', 'Single sign-on', 'sso.manage'],
  ['audit', 'Audit log', 'audit.read'],
];

export function Settings({ tab, webhookId }: { tab: string; webhookId?: string }) {
  const { can } = useApp();
  const tabs = TABS.filter(([, , p]) => !p || can(p as never));
  const current = tabs.find(([id]) => id === tab);
  let body: ComponentChildren;
  if (!current) body = <Empty>There is no such settings page, or your role cannot see it.</Empty>;
  else if (tab === 'workspace') body = <WorkspaceSettings />;
  else if (tab === 'links') body = <LinkSettings />;
  else if (tab === 'slots') body = <TimeSlots />;
  else if (tab === 'webhooks') body = webhookId ? <WebhookDeliveries webhookId={webhookId} /> : <Webhooks />;
  else if (tab === 'api-keys') body = <ApiKeys />;
  else if (tab === 'assistant') body = <AssistantSettingsTab />;
  else if (tab === 'sso') body = <SingleSignOn />;
  else body = <AuditLog />;
  return (
    <Page title={current ? `Settings: ${current[1]}` : 'Settings'}>
      <nav aria-label="Settings" class="subnav">
        {tabs.map(([id, label]) => (
          <Link key={id} href={id === 'workspace' ? '/settings' : `/settings/${id}`} aria-current={id === tab ? 'page' : undefined}>{label}</Link>
        ))}
      </nav>
      {body}
    </Page>
  );
}

/** An IANA zone picker; with `none`, a first option for "no zone of my own" (value ''). */
export function ZoneSelect({ value, onChange, label = 'Time zone', hint, none }: { value: string; onChange: (z: string) => void; label?: string; hint?: string; none?: string }) {
  return (
    <Field label={label} {...(hint ? { hint } : {})}>
      {(p) => (
        <select {...p} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          {none !== undefined && <option value="">{none}</option>}
          {zones().map((z) => <option key={z} value={z}>{z}</option>)}
        </select>
      )}
    </Field>
  );
}

function WorkspaceSettings() {
  const { workspace, can, reloadWorkspace, reloadMe } = useApp();
  const [name, setName] = useState(workspace.name);
  const [zone, setZone] = useState(workspace.settings?.timeZone ?? 'UTC');
  const [approval, setApproval] = useState(!!workspace.settings?.requireApproval);
  const [replyApproval, setReplyApproval] = useState(!!workspace.settings?.requireReplyApproval);
  const [run, busy] = useAction();
  const edit = can('workspace.rename');
  return (
    <>
      <form class="form" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          await api.patch<Workspace>(wsPath(workspace), { ...(name.trim() !== workspace.name ? { name: name.trim() } : {}), settings: { timeZone: zone, requireApproval: approval, requireReplyApproval: replyApproval } });
          await Promise.all([reloadWorkspace(), reloadMe()]);
        }, 'Settings saved.');
      }}>
        <Field label="Name">{(p) => <input {...p} required maxLength={100} disabled={!edit} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <ZoneSelect value={zone} onChange={setZone} hint="The calendar and new posts use it, for members who have not chosen a zone of their own." />
        <div class="check">
          <input id="require-approval" type="checkbox" disabled={!edit} checked={approval} onChange={(e) => setApproval(e.currentTarget.checked)} />
          <label for="require-approval">Require approval: editors submit posts, owners and admins approve and schedule them</label>
        </div>
        <div class="check">
          <input id="require-reply-approval" type="checkbox" disabled={!edit} checked={replyApproval} onChange={(e) => setReplyApproval(e.currentTarget.checked)} />
          <label for="require-reply-approval">Require approval of replies: editors' answers in the Inbox wait for an owner or admin before they are sent</label>
        </div>
        {edit && <Submit busy={busy}>Save settings</Submit>}
      </form>
      {can('workspace.security') && <SecondFactorPolicy />}
      {can('workspace.delete') && (
        <section class="danger-zone" aria-labelledby="danger">
          <h2 id="danger">Delete the workspace</h2>
          <p>Everything in it goes: posts, accounts, media, webhooks, keys. What is published stays on the networks.</p>
          <ConfirmButton label="Delete workspace" question={`Delete ${workspace.name} with everything in it? This cannot be undone.`} confirm="Delete for good"
            onConfirm={async () => { await api.del(wsPath(workspace)); toast.ok(`${workspace.name} deleted.`); await reloadMe(); navigate('/workspaces'); }} />
        </section>
      )}
    </>
  );
}

/** Owners: require two-step verification of every member (the owner needs it first: the server says so). */
function SecondFactorPolicy() {
  const { workspace, reloadWorkspace } = useApp();
  const [run, busy] = useAction();
  const on = workspace.requireSecondFactor === true;
  return (
    <section aria-labelledby="policy">
      <h2 id="policy">Two-step verification</h2>
      <p>{on
        ? 'Required: members without an authenticator app can reach nothing in this workspace until they set one up (Security).'
        : 'Not required. When it is, members without an authenticator app can reach nothing in this workspace until they set one up.'}</p>
      <Button busy={busy} kind={on ? 'secondary' : 'primary'} onClick={() => run(async () => {
        await api.put(wsPath(workspace, '/security'), { requireSecondFactor: !on });
        await reloadWorkspace();
      }, on ? 'Two-step verification is no longer required.' : 'Two-step verification is now required of every member.')}>
        {on ? 'Stop requiring it' : 'Require it of every member'}
      </Button>
    </section>
  );
}

const CAMPAIGN_MODES: [LinkRules['campaignMode'], string][] = [
  ['label', 'The post\'s first label (else the campaign below, when set)'],
  ['fixed', 'Always the campaign below'],
  ['none', 'No utm_campaign'],
];

/**
 * The workspace's link rules (docs/LINKS.md): shortening on AllIN's own address and the UTM parameters added
 * to the destinations of short links. Everyone sees them; owners and admins (workspace.rename) change them.
 * The server checks them: its refusals are shown next to the field they concern.
 */
function LinkSettings() {
  const { workspace } = useApp();
  const rules = useLoad(() => api.get<LinkRules>(wsPath(workspace, '/links/settings')), [workspace.id]);
  if (rules.error) return <ErrorNote error={rules.error} retry={rules.reload} />;
  if (!rules.data) return <Loading />;
  return <LinkRulesForm key={workspace.id} rules={rules.data} onSaved={rules.setData} />;
}

function LinkRulesForm({ rules, onSaved }: { rules: LinkRules; onSaved: (r: LinkRules) => void }) {
  const { workspace, networks, can } = useApp();
  const edit = can('workspace.rename');
  const [shorten, setShorten] = useState(rules.shorten);
  const [medium, setMedium] = useState(rules.utmMedium);
  const [mode, setMode] = useState(rules.campaignMode);
  const [campaign, setCampaign] = useState(rules.utmCampaign ?? '');
  const [content, setContent] = useState(rules.utmContent ?? '');
  const [sources, setSources] = useState<[string, string][]>(() => Object.entries(rules.utmSources));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const shown = ['body.utmMedium', 'body.campaignMode', 'body.utmCampaign', 'body.utmContent', 'body.utmSources', ...sources.map(([n]) => `body.utmSources.${n}`)];
  const elsewhere = error && !Object.keys(errs).some((f) => shown.includes(f));
  const unused = networks.filter((n) => !sources.some(([id]) => id === n.id));

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Empty fields are sent as empty: the server stores them as "none" (or the default medium).
      const saved = await api.put<LinkRules>(wsPath(workspace, '/links/settings'), {
        shorten, utmMedium: medium, campaignMode: mode, utmCampaign: campaign.trim() || null, utmContent: content.trim() || null,
        utmSources: Object.fromEntries(sources.filter(([n]) => n)),
      });
      onSaved(saved);
      setMedium(saved.utmMedium);
      setCampaign(saved.utmCampaign ?? '');
      setContent(saved.utmContent ?? '');
      setSources(Object.entries(saved.utmSources));
      toast.ok('Link rules saved.');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={save} noValidate aria-label="Link rules">
      <p>URLs in posts can go out as short links on this AllIN (<code>{location.origin}/l/…</code>), which count their clicks per
        network and day, people and bots apart (see Analytics). UTM parameters are added to where a short link sends;
        one written in the URL is never replaced. The rules apply to posts published from now on.</p>
      {elsewhere ? <ErrorNote error={error} /> : null}
      <div class="check">
        <input id="links-shorten" type="checkbox" disabled={!edit} checked={shorten} onChange={(e) => setShorten(e.currentTarget.checked)} />
        <label for="links-shorten">Shorten links in posts (networks count each short link as they count any URL)</label>
      </div>
      <Field label="utm_medium" hint="Default: social." error={errs['body.utmMedium']}>
        {(p) => <input {...p} disabled={!edit} value={medium} onInput={(e) => setMedium(e.currentTarget.value)} />}
      </Field>
      <Field label="Campaign (utm_campaign) from" error={errs['body.campaignMode']}>
        {(p) => (
          <select {...p} disabled={!edit} value={mode} onChange={(e) => setMode(e.currentTarget.value as LinkRules['campaignMode'])}>
            {CAMPAIGN_MODES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
        )}
      </Field>
      <Field label="Campaign" hint={mode === 'fixed' ? 'Required: every link gets it.' : mode === 'label' ? 'Optional: for posts without a label.' : 'Not used while the campaign is off.'}
        error={errs['body.utmCampaign']}>
        {(p) => <input {...p} disabled={!edit || mode === 'none'} value={campaign} onInput={(e) => setCampaign(e.currentTarget.value)} />}
      </Field>
      <Field label="utm_content" hint="Optional template: {network} and {post} (the post's id) are filled in." error={errs['body.utmContent']}>
        {(p) => <input {...p} disabled={!edit} value={content} onInput={(e) => setContent(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>utm_source per network</legend>
        <p class="hint">Without a row, utm_source is the network's id (x, mastodon, bluesky…).</p>
        {errs['body.utmSources'] && <p class="field-error">{errs['body.utmSources']}</p>}
        {sources.length > 0 && (
          <ul class="slot-rows" aria-label="utm_source per network">
            {sources.map(([network, value], i) => {
              const err = errs[`body.utmSources.${network}`];
              return (
                <li key={i} class="row">
                  <label class="visually-hidden" for={`source-net-${i}`}>Network of row {i + 1}</label>
                  <select id={`source-net-${i}`} disabled={!edit} value={network} onChange={(e) => { const v = e.currentTarget.value; setSources((xs) => xs.map((x, j) => (j === i ? [v, x[1]] : x))); }}>
                    {networks.filter((n) => n.id === network || !sources.some(([id]) => id === n.id)).map((n) => <option key={n.id} value={n.id}>{n.displayName}</option>)}
                    {!networks.some((n) => n.id === network) && <option value={network}>{network}</option>}
                  </select>
                  <label class="visually-hidden" for={`source-val-${i}`}>utm_source for {providerName(networks, network)}</label>
                  <input id={`source-val-${i}`} disabled={!edit} value={value} aria-invalid={err ? true : undefined} aria-describedby={err ? `source-err-${i}` : undefined}
                    onInput={(e) => { const v = e.currentTarget.value; setSources((xs) => xs.map((x, j) => (j === i ? [x[0], v] : x))); }} />
                  {edit && <Button small kind="quiet" label={`Remove the utm_source of ${providerName(networks, network)}`} onClick={() => setSources((xs) => xs.filter((_, j) => j !== i))}>Remove</Button>}
                  {err && <p class="field-error" id={`source-err-${i}`}>{err}</p>}
                </li>
              );
            })}
          </ul>
        )}
        {edit && unused.length > 0 && <Button small onClick={() => setSources((xs) => [...xs, [unused[0]!.id, '']])}>Add a network</Button>}
      </fieldset>
      {edit ? <Submit busy={busy}>Save link rules</Submit> : <p class="meta">Owners and admins change these rules.</p>}
    </form>
  );
}

function TimeSlots() {
  const { workspace, networks, zone: wsZone, can } = useApp();
  const loc = useLocation();
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const list = (accounts.data?.accounts ?? []).filter((a) => a.status !== 'disconnected');
  const accountId = loc.search.get('account') ?? list[0]?.id ?? '';
  const slots = useLoad(() => (accountId ? api.get<Slots>(wsPath(workspace, `/accounts/${accountId}/slots`)) : Promise.resolve(undefined)), [accountId]);
  const [rows, setRows] = useState<{ weekday: number; time: string }[]>([]);
  // The zone shown is the slots' own (the workspace's while there are none) until the user picks one;
  // newly loaded slots reset both the rows and that choice.
  const [zoneChoice, setZone] = useState<string | null>(null);
  const zone = zoneChoice ?? (slots.data?.slots.length ? slots.data.timeZone : wsZone);
  const [run, busy] = useAction();
  useEffect(() => {
    if (!slots.data) return;
    setRows(slots.data.slots);
    setZone(null);
  }, [slots.data]);
  const edit = can('posts.write');

  if (accounts.loading && !accounts.data) return <Loading />;
  if (accounts.error) return <ErrorNote error={accounts.error} retry={accounts.reload} />;
  if (list.length === 0) return <Empty>Connect an account first: <Link href="/accounts">Accounts</Link>.</Empty>;
  return (
    <>
      <p>Each account has weekly posting slots; “Next free queue slot” in the composer takes the next one that is free.</p>
      <Field label="Account">
        {(p) => <select {...p} value={accountId} onChange={(e) => setQuery({ account: e.currentTarget.value })}>{list.map((a) => <option key={a.id} value={a.id}>{providerName(networks, a.provider)} · {a.username}</option>)}</select>}
      </Field>
      {slots.loading && !slots.data && <Loading />}
      {slots.error ? <ErrorNote error={slots.error} retry={slots.reload} /> : null}
      {slots.data && (
        <form class="form" onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            slots.setData(await api.put<Slots>(wsPath(workspace, `/accounts/${accountId}/slots`), { timeZone: zone, slots: rows }));
          }, 'Time slots saved.');
        }}>
          <ZoneSelect value={zone} onChange={setZone} />
          {rows.length === 0 && <Empty>No slots yet.</Empty>}
          <ul class="slot-rows" aria-label="Slots">
            {rows.map((r, i) => (
              <li key={i} class="row">
                <label class="visually-hidden" for={`slot-day-${i}`}>Day of slot {i + 1}</label>
                <select id={`slot-day-${i}`} value={r.weekday} disabled={!edit} onChange={(e) => { const v = Number(e.currentTarget.value); setRows((rs) => rs.map((x, j) => (j === i ? { ...x, weekday: v } : x))); }}>
                  {WEEKDAYS.map((d, j) => <option key={d} value={j + 1}>{d}</option>)}
                </select>
                <label class="visually-hidden" for={`slot-time-${i}`}>Time of slot {i + 1}</label>
                <input id={`slot-time-${i}`} type="time" required disabled={!edit} value={r.time} onInput={(e) => { const v = e.currentTarget.value; setRows((rs) => rs.map((x, j) => (j === i ? { ...x, time: v } : x))); }} />
                {edit && <Button small kind="quiet" label={`Remove slot ${i + 1}`} onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>Remove</Button>}
              </li>
            ))}
          </ul>
          {edit && (
            <div class="row">
              <Button small onClick={() => setRows((rs) => [...rs, { weekday: 1, time: '09:00' }])}>Add a slot</Button>
              <Submit busy={busy}>Save slots</Submit>
            </div>
          )}
          {slots.data.next.length > 0 && (
            <p class="meta">Next free slots: {slots.data.next.slice(0, 5).map((n) => dateTime(n, zone)).join(', ')}</p>
          )}
        </form>
      )}
    </>
  );
}

const EVENTS = ['post.published', 'post.failed', 'post.unknown', 'account.needs_reconnect', 'inbox.message.created', 'inbox.conversation.assigned', 'inbox.reply.published', 'inbox.reply.failed', 'inbox.reply.unknown', 'inbox.action.done', 'inbox.action.failed', 'inbox.action.unknown'];

function Secret({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  return (
    <div class="notice secret" role="status">
      <p><strong>{label}</strong> It is shown this once: copy it now.</p>
      <p><code class="secret-value">{value}</code></p>
      <div class="row">
        <Button small onClick={() => navigator.clipboard?.writeText(value).then(() => toast.ok('Copied.'), () => toast.error('Copying is not allowed here; select the text instead.'))}>Copy</Button>
        <Button small kind="quiet" onClick={onDone}>I have copied it</Button>
      </div>
    </div>
  );
}

function Webhooks() {
  const { workspace } = useApp();
  const hooks = useLoad(() => api.get<{ webhooks: Webhook[] }>(wsPath(workspace, '/webhooks')), [workspace.id]);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<string[]>(['post.published', 'post.failed']);
  const [secret, setSecret] = useState<string | null>(null);
  const [run, busy] = useAction();
  const hook = (id: string, rest = '') => wsPath(workspace, `/webhooks/${id}${rest}`);
  return (
    <>
      <p>AllIN POSTs signed events to these addresses (Standard Webhooks), retrying when they fail.</p>
      {secret && <Secret label="The signing secret of the webhook." value={secret} onDone={() => setSecret(null)} />}
      {hooks.loading && !hooks.data && <Loading />}
      {hooks.error ? <ErrorNote error={hooks.error} retry={hooks.reload} /> : null}
      {hooks.data && hooks.data.webhooks.length === 0 && <Empty>No webhook yet.</Empty>}
      {hooks.data && hooks.data.webhooks.length > 0 && (
        <ul class="list" aria-label="Webhooks">
          {hooks.data.webhooks.map((w) => (
            <li key={w.id} class="list-item webhook">
              <div class="grow">
                <strong class="break">{w.url}</strong> {!w.active && <Badge state="disabled" />}
                <div class="meta">{w.description ? `${w.description} · ` : ''}{w.events.join(', ')}</div>
              </div>
              <div class="row wrap">
                <Link href={`/settings/webhooks/${w.id}`} class="button button-secondary button-small">Delivery log</Link>
                <Button small onClick={() => run(() => api.post<{ delivered: boolean; statusCode: number | null; error: string | null; durationMs: number }>(hook(w.id, '/ping')),
                  (r) => (r.delivered ? `Ping delivered (${r.statusCode}, ${r.durationMs} ms).` : `Ping not delivered: ${r.error ?? r.statusCode}.`))}>Ping</Button>
                <Button small onClick={() => run(async () => { await api.patch(hook(w.id), { active: !w.active }); hooks.reload(); }, w.active ? 'Webhook turned off.' : 'Webhook turned on.')}>{w.active ? 'Turn off' : 'Turn on'}</Button>
                <ConfirmButton small kind="secondary" label="New secret" question="Replace the signing secret? Deliveries from now on are signed with the new one." confirm="Replace secret"
                  onConfirm={async () => { setSecret((await api.post<{ secret: string }>(hook(w.id, '/rotate-secret'))).secret); }} />
                <ConfirmButton small label="Delete" question={`Delete the webhook to ${w.url} and its delivery log?`} confirm="Delete webhook"
                  onConfirm={async () => { await api.del(hook(w.id)); hooks.reload(); toast.ok('Webhook deleted.'); }} />
              </div>
            </li>
          ))}
        </ul>
      )}
      <form class="form card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await api.post<{ secret: string }>(wsPath(workspace, '/webhooks'), { url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}) });
          setSecret(r.secret);
          setUrl('');
          setDescription('');
          hooks.reload();
        }, 'Webhook added.');
      }}>
        <h3>Add a webhook</h3>
        <Field label="URL" hint="https:// (http:// outside production); not a private or loopback address.">{(p) => <input {...p} type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />}</Field>
        <Field label="Description (optional)">{(p) => <input {...p} maxLength={200} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />}</Field>
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((ev) => (
            <div class="check" key={ev}>
              <input id={`ev-${ev}`} type="checkbox" checked={events.includes(ev)} onChange={(e) => { const on = e.currentTarget.checked; setEvents((x) => (on ? [...x, ev] : x.filter((y) => y !== ev))); }} />
              <label for={`ev-${ev}`}><code>{ev}</code></label>
            </div>
          ))}
        </fieldset>
        <Submit busy={busy} disabled={!url.trim() || events.length === 0}>Add webhook</Submit>
      </form>
    </>
  );
}

function WebhookDeliveries({ webhookId }: { webhookId: string }) {
  const { workspace, zone } = useApp();
  const [status, setStatus] = useState('');
  const base = wsPath(workspace, `/webhooks/${webhookId}`);
  const hook = useLoad(() => api.get<Webhook>(base), [webhookId]);
  const pages = usePages((cursor) => api.get<Paged<'deliveries', Delivery>>(`${base}/deliveries`, { query: { limit: 20, status: status || undefined, cursor } })
    .then((r) => ({ items: r.deliveries, nextCursor: r.nextCursor })), [webhookId, status]);
  const { first, items: all } = pages;
  const [run, busy] = useAction();
  return (
    <>
      <p><Link href="/settings/webhooks">‹ All webhooks</Link></p>
      <h2 class="break">Deliveries to {hook.data?.url ?? '…'}</h2>
      <Field label="Show">
        {(p) => (
          <select {...p} value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">All deliveries</option><option value="pending">Pending</option><option value="delivered">Delivered</option><option value="failed">Failed</option>
          </select>
        )}
      </Field>
      {first.loading && !first.data && <Loading />}
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.data && all.length === 0 && <Empty>No delivery yet. Use Ping to send a test event.</Empty>}
      {all.length > 0 && (
        <ul class="list" aria-label="Deliveries">
          {all.map((d) => (
            <li key={d.id} class="list-item delivery">
              <div class="grow">
                <div><code>{d.event}</code> <Badge state={d.status} /> <span class="meta">{dateTime(d.createdAt, zone)} · {d.attempts} {d.attempts === 1 ? 'try' : 'tries'}{d.lastStatusCode ? ` · last answer ${d.lastStatusCode}` : ''}</span></div>
                {d.lastError && <p class="field-error">{d.lastError}</p>}
                {d.nextAttemptAt && d.status === 'pending' && <p class="meta">Next try {dateTime(d.nextAttemptAt, zone)}</p>}
                <details>
                  <summary>Tries and payload</summary>
                  {d.log.length > 0 && (
                    <table class="table">
                      <thead><tr><th scope="col">When</th><th scope="col">Answer</th><th scope="col">Time</th><th scope="col">Problem</th></tr></thead>
                      <tbody>{d.log.map((l, i) => <tr key={i}><td>{dateTime(l.at, zone)}</td><td>{l.statusCode ?? '—'}</td><td>{l.durationMs != null ? `${l.durationMs} ms` : '—'}</td><td>{l.error ?? '—'}</td></tr>)}</tbody>
                    </table>
                  )}
                  <pre class="payload">{JSON.stringify(d.payload, null, 2)}</pre>
                </details>
              </div>
              {d.status !== 'pending' && (
                <Button small busy={busy} onClick={() => run(async () => { await api.post(`${base}/deliveries/${d.id}/redeliver`); first.reload(); }, 'Sent again.')}>Redeliver</Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show older deliveries</Button>}
    </>
  );
}

const SCOPES: [ApiKey['scopes'][number], string][] = [['read', 'read: see everything'], ['write', 'write: also write and schedule posts, upload media'], ['admin', 'admin: also manage accounts, members, webhooks']];

function ApiKeys() {
  const { workspace } = useApp();
  const keys = useLoad(() => getAll<Paged<'apiKeys', ApiKey>>(wsPath(workspace, '/api-keys'), 'apiKeys'), [workspace.id]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKey['scopes']>(['read']);
  const [created, setCreated] = useState<string | null>(null);
  const [run, busy] = useAction();
  const [guard, stepUpDialog] = useStepUp();
  return (
    <>
      {stepUpDialog}
      <p>Programs use a key as <code>Authorization: Bearer &lt;key&gt;</code>. A key never does more than its creator may.</p>
      {created && <Secret label="Your new API key." value={created} onDone={() => setCreated(null)} />}
      {keys.loading && !keys.data && <Loading />}
      {keys.error ? <ErrorNote error={keys.error} retry={keys.reload} /> : null}
      {keys.data && keys.data.apiKeys.length === 0 && <Empty>No API key yet.</Empty>}
      {keys.data && keys.data.apiKeys.length > 0 && (
        <table class="table">
          <caption class="visually-hidden">API keys</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {keys.data.apiKeys.map((k) => (
              <tr key={k.id} class={k.revokedAt ? 'revoked' : undefined}>
                <td>{k.name}</td>
                <td><code>allin_{k.prefix}_…</code></td>
                <td>{k.scopes.join(', ')}</td>
                <td>{k.revokedAt ? `Revoked ${dateTime(k.revokedAt)}` : k.lastUsedAt ? dateTime(k.lastUsedAt) : 'Never'}</td>
                <td>{!k.revokedAt && <ConfirmButton small label="Revoke" question={`Revoke the key “${k.name}”? Programs using it stop working at once.`} confirm="Revoke key"
                  onConfirm={async () => { await api.del(wsPath(workspace, `/api-keys/${k.id}`)); keys.reload(); toast.ok('Key revoked.'); }} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="form card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await guard(() => api.post<{ key: string }>(wsPath(workspace, '/api-keys'), { name: name.trim(), scopes }));
          setCreated(r.key);
          setName('');
          keys.reload();
        }, 'API key created.');
      }}>
        <h3>Create a key</h3>
        <Field label="Name" hint="What uses it, e.g. “CMS publisher”.">{(p) => <input {...p} required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map(([s, l]) => (
            <div class="check" key={s}>
              <input id={`scope-${s}`} type="checkbox" checked={scopes.includes(s)} onChange={(e) => { const on = e.currentTarget.checked; setScopes((x) => (on ? [...x, s] : x.filter((y) => y !== s))); }} />
              <label for={`scope-${s}`}>{l}</label>
            </div>
          ))}
        </fieldset>
        <Submit busy={busy} disabled={!name.trim() || scopes.length === 0}>Create key</Submit>
      </form>
    </>
  );
}

interface SsoSettings { configured: boolean; issuer: string | null; clientId: string | null; defaultRole: 'admin' | 'editor' | 'viewer' | null; ssoOnly: boolean; callbackUrl: string }
interface SsoDomain { id: string; domain: string; verified: boolean; verifiedBy: 'dns' | 'mail' | null; txtRecord: { name: string; value: string } }

/** Owners and admins: the identity provider (OpenID Connect) and the email domains it signs in (docs/SSO.md). */
function SingleSignOn() {
  const { workspace } = useApp();
  const settings = useLoad(() => api.get<SsoSettings>(wsPath(workspace, '/sso')), [workspace.id]);
  const domains = useLoad(() => api.get<{ items: SsoDomain[] }>(wsPath(workspace, '/sso/domains')), [workspace.id]);
  const [form, setForm] = useState({ issuer: '', clientId: '', clientSecret: '', defaultRole: 'editor', ssoOnly: false });
  const [domain, setDomain] = useState('');
  const [run, busy] = useAction();
  useEffect(() => {
    const s = settings.data;
    if (s?.configured) setForm({ issuer: s.issuer ?? '', clientId: s.clientId ?? '', clientSecret: '', defaultRole: s.defaultRole ?? 'editor', ssoOnly: s.ssoOnly });
  }, [settings.data]);
  const set = (k: keyof typeof form) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setForm((f) => ({ ...f, [k]: el.type === 'checkbox' ? el.checked : el.value }));
  };
  return (
    <>
      <p>People of your verified email domains sign in through your identity provider (Okta, Entra ID, Google Workspace, Keycloak…) and join this workspace with the default role the first time.</p>
      {settings.error ? <ErrorNote error={settings.error} retry={settings.reload} /> : null}
      {settings.data && (
        <form class="form card" onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const { clientSecret, ...rest } = form;
            await api.put(wsPath(workspace, '/sso'), { ...rest, ...(clientSecret ? { clientSecret } : {}) });
            setForm((f) => ({ ...f, clientSecret: '' }));
            settings.reload();
          }, 'Single sign-on saved.');
        }}>
          <h3>Identity provider (OpenID Connect)</h3>
          <p>Register AllIN there as a web application with this redirect URI: <code>{settings.data.callbackUrl}</code></p>
          <Field label="Issuer URL" hint="e.g. https://login.example.com/realms/acme">{(p) => <input {...p} type="url" required value={form.issuer} onInput={set('issuer')} />}</Field>
          <Field label="Client id">{(p) => <input {...p} required value={form.clientId} onInput={set('clientId')} />}</Field>
          <Field label="Client secret" hint={settings.data.configured ? 'Stored encrypted and never shown; leave empty to keep it.' : 'Stored encrypted and never shown again.'}>
            {(p) => <input {...p} type="password" autoComplete="off" required={!settings.data?.configured} value={form.clientSecret} onInput={set('clientSecret')} />}
          </Field>
          <Field label="Role of people who join by signing in">{(p) => (
            <select {...p} value={form.defaultRole} onChange={set('defaultRole')}>
              <option value="viewer">Viewer</option><option value="editor">Editor</option><option value="admin">Admin</option>
            </select>
          )}</Field>
          <div class="check">
            <input id="sso-only" type="checkbox" checked={form.ssoOnly} onChange={set('ssoOnly')} />
            <label for="sso-only">SSO only: people of the verified domains cannot sign in with a password or passkey (their other sessions end)</label>
          </div>
          <Submit busy={busy}>Save</Submit>
          {settings.data.configured && (
            <ConfirmButton label="Turn single sign-on off" question="Turn single sign-on off? People of your domains sign in with a password again." confirm="Turn off"
              onConfirm={async () => { await api.del(wsPath(workspace, '/sso')); settings.reload(); toast.ok('Single sign-on is off.'); }} />
          )}
        </form>
      )}
      <h3>Email domains</h3>
      {domains.error ? <ErrorNote error={domains.error} retry={domains.reload} /> : null}
      {domains.data && domains.data.items.length === 0 && <Empty>No domain yet: claim your company's email domain below.</Empty>}
      {domains.data && domains.data.items.length > 0 && (
        <table class="table">
          <caption class="visually-hidden">Email domains</caption>
          <thead><tr><th scope="col">Domain</th><th scope="col">Status</th><th scope="col">How to verify</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {domains.data.items.map((d) => (
              <tr key={d.id}>
                <td>{d.domain}</td>
                <td>{d.verified ? `Verified (${d.verifiedBy === 'dns' ? 'DNS record' : 'mail'})` : 'Not verified'}</td>
                <td>{!d.verified && (
                  <>
                    <p>Add a TXT record <code>{d.txtRecord.name}</code> with the value <code>{d.txtRecord.value}</code>, then check it, or mail a link to the domain's administrator.</p>
                    <Button small busy={busy} onClick={() => run(async () => { await api.post(wsPath(workspace, `/sso/domains/${d.id}/verify-dns`), {}); domains.reload(); }, `${d.domain} is verified.`)}>Check DNS record</Button>{' '}
                    <Button small busy={busy} onClick={() => run(async () => {
                      const r = await api.post<{ sentTo: string }>(wsPath(workspace, `/sso/domains/${d.id}/verification-mail`), { mailbox: 'admin' });
                      return r.sentTo;
                    }, (to) => `A verification link was mailed to ${to ?? 'the administrator'}.`)}>Mail admin@{d.domain}</Button>
                  </>
                )}</td>
                <td><ConfirmButton small label="Remove" question={`Remove ${d.domain}? Its people can no longer sign in here through SSO.`} confirm="Remove"
                  onConfirm={async () => { await api.del(wsPath(workspace, `/sso/domains/${d.id}`)); domains.reload(); toast.ok('Domain removed.'); }} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="form card" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => { await api.post(wsPath(workspace, '/sso/domains'), { domain: domain.trim() }); setDomain(''); domains.reload(); }, 'Domain claimed: now verify it.');
      }}>
        <Field label="Claim a domain" hint="e.g. example.com">{(p) => <input {...p} required value={domain} onInput={(e) => setDomain(e.currentTarget.value)} />}</Field>
        <Submit busy={busy} disabled={!domain.trim()}>Claim</Submit>
      </form>
    </>
  );
}

function AuditLog() {
  const { workspace, zone } = useApp();
  const pages = usePages((cursor) => api.get<Paged<'events', AuditEvent>>(wsPath(workspace, '/audit'), { query: { limit: 50, cursor } })
    .then((r) => ({ items: r.events, nextCursor: r.nextCursor })), [workspace.id]);
  const { first, items: all } = pages;
  const members = useLoad(() => getAll<Paged<'members', Member>>(wsPath(workspace, '/members'), 'members'), [workspace.id]);
  const who = (e: AuditEvent) => (e.actorApiKeyId ? 'an API key' : e.actorUserId ? members.data?.members.find((m) => m.userId === e.actorUserId)?.name ?? 'a former member' : 'AllIN');
  return (
    <>
      {first.loading && !first.data && <Loading />}
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.data && all.length === 0 && <Empty>Nothing recorded yet.</Empty>}
      {all.length > 0 && (
        <table class="table">
          <caption class="visually-hidden">Audit log, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {all.map((e) => (
              <tr key={e.id}>
                <td>{dateTime(e.createdAt, zone)}</td>
                <td><code>{e.action}</code></td>
                <td>{who(e)}{e.ip ? ` · ${e.ip}` : ''}</td>
                <td class="details">{Object.entries(e.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ') || (e.targetType ? `${e.targetType} ${e.targetId ?? ''}` : '—')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show older events</Button>}
    </>
  );
}

