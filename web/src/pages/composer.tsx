// The composer: one text for every network, with a tab per chosen account for its own text and first
// comment; live counters that count as each network counts (the server's own checkTarget and
// countText, imported from src/); media uploads with previews and alt text; thread parts; and when:
// now, at a date and time in a time zone, in the queue, as a draft, or submitted for approval. A Bluesky
// tab previews the link card its post will carry (the server reads the page: POST …/link-card). The Assist
// panel (assist.tsx) offers the writing assistant's suggestions, which go into the post only when chosen.
// Reusable content (pickers.tsx): a template fills the text, the per-network texts and the files; a hashtag
// group goes in where the cursor is; files can be picked from the media library as well as uploaded.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { checkTarget, type Count, type Problem } from '../../../src/modules/posts/validate.ts';
import { api, ApiError, blobUrl, getAll } from '../api.ts';
import { navigate, ROUTES } from '../router.ts';
import { browserZone, bytes, localParts, weekday, zones } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { Account, AccountList, HashtagGroup, Media, Network, Post, RenderedTemplate, Template, Variant } from '../types.ts';
import { Button, Empty, ErrorNote, Field, Link, Loading, messageOf, Page, toast, useLoad } from '../ui.tsx';
import { providerName } from './accounts.tsx';
import { AssistPanel, SuggestAltText } from './assist.tsx';
import { HashtagPicker, insertAt, MediaPicker, TemplatePicker } from './pickers.tsx';

type When = 'now' | 'at' | 'queue' | 'draft';
interface Part { key: number; text: string }
/** A target's own text and first comment, and its network options (kept as they were, e.g. langs). */
interface Own { text: string | null; firstComment: string | null; options?: Record<string, unknown> }
interface LinkCard { uri: string; title: string; description: string; image: string | null }
interface Upload { key: number; name: string; media?: Media; mediaId?: string; preview?: string; error?: string }

let keys = 1;
const newKey = () => keys++;

function defaultTime(zone: string): { date: string; time: string } {
  const inAnHour = new Date(Date.now() + 60 * 60_000);
  inAnHour.setMinutes(0, 0, 0);
  const p = localParts(inAnHour, zone);
  return { date: p.date, time: p.time.slice(0, 5) };
}

/** A media preview: the local file while it is fresh, or the stored bytes (fetched with the token). */
function MediaPreview({ upload, workspaceId }: { upload: Upload; workspaceId: string }) {
  const [src, setSrc] = useState<string | undefined>(upload.preview);
  const mediaId = upload.media?.id;
  useEffect(() => {
    if (upload.preview || !mediaId) return;
    const ctl = new AbortController();
    let url: string | undefined;
    blobUrl(`/api/workspaces/${workspaceId}/media/${mediaId}/content`, ctl.signal).then((u) => { url = u; setSrc(u); }, () => {});
    return () => { ctl.abort(); if (url) URL.revokeObjectURL(url); };
  }, [mediaId, upload.preview, workspaceId]);
  const m = upload.media;
  if (!src || !m) return <div class="thumb thumb-empty" aria-hidden="true" />;
  return m.mimeType.startsWith('video/')
    ? <video class="thumb" src={src} muted controls aria-label={m.altText || m.fileName} />
    : <img class="thumb" src={src} alt={m.altText || `Preview of ${m.fileName}`} />;
}

/** Files by id (a post being edited, a template) after those already there: their facts (type, size) for the checks, and their previews. */
function addById(workspaceId: string, ids: string[], setUploads: (f: (us: Upload[]) => Upload[]) => void) {
  setUploads((us) => [...us, ...ids.filter((id) => !us.some((u) => (u.media?.id ?? u.mediaId) === id)).map((id) => ({ key: newKey(), name: 'Loading…', mediaId: id }))]);
  for (const id of ids) {
    api.get<Media>(`/api/workspaces/${workspaceId}/media/${id}`).then(
      (m) => setUploads((us) => us.map((u) => (u.mediaId === id && !u.media ? { ...u, name: m.fileName, media: m } : u))),
      (err: unknown) => setUploads((us) => us.map((u) => (u.mediaId === id && !u.media ? { ...u, error: messageOf(err) } : u))),
    );
  }
}

function Counters({ counts, field, id }: { counts: { label: string; count: Count | undefined }[]; field: string; id: string }) {
  const shown = counts.filter((c) => c.count);
  if (shown.length === 0) return null;
  return (
    <ul class="counters" id={id} aria-label={`Length of the ${field} as each network counts it`}>
      {shown.map(({ label, count }) => {
        const over = count!.length > count!.max;
        return (
          <li key={label} class={over ? 'counter over' : 'counter'} data-network={label}>
            <span class="counter-label">{label}</span>{' '}
            <span class="counter-value">{count!.length}<span aria-hidden="true"> / </span><span class="visually-hidden"> of </span>{count!.max}</span>
            {over && <span class="visually-hidden"> (too long)</span>}
          </li>
        );
      })}
    </ul>
  );
}

export function Composer({ postId }: { postId?: string }) {
  const { workspace, networks, can, zone: wsZone } = useApp();
  const accountsLoad = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const existing = useLoad(() => (postId ? api.get<Post>(wsPath(workspace, `/posts/${postId}`)) : Promise.resolve(undefined)), [postId]);

  const [text, setText] = useState('');
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [parts, setParts] = useState<Part[]>([]);
  const [chosen, setChosen] = useState<string[]>([]);
  const [own, setOwn] = useState<Record<string, Own>>({});
  const [tab, setTab] = useState<string>('all');
  const [when, setWhen] = useState<When>('at');
  const [zone, setZone] = useState(wsZone || browserZone());
  const [{ date, time }, setAt] = useState(() => defaultTime(wsZone || browserZone()));
  const [repeat, setRepeat] = useState<'none' | 'daily' | 'weekly'>('none');
  const [busy, setBusy] = useState(false);
  const [serverProblems, setServerProblems] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  // Problems are shown once there is something to judge: after typing, or after trying to send.
  const [touched, setTouched] = useState(!!postId);
  const [attempted, setAttempted] = useState(false);
  const problemsBox = useRef<HTMLDivElement>(null);
  const textBox = useRef<HTMLTextAreaElement>(null);
  const [picker, setPicker] = useState<'template' | 'hashtags' | 'media' | null>(null);
  // Where the Hashtags dialog inserts ('all': the post's text; an account id: that account's own text), and
  // where the caret goes after it.
  const [hashInto, setHashInto] = useState<string>('all');
  const [caret, setCaret] = useState<{ into: string; at: number } | null>(null);
  // The last template's texts per network, for accounts chosen after it was inserted.
  const [templateTexts, setTemplateTexts] = useState<Record<string, string>>({});
  const loadedFor = useRef<string | null>(null);
  // The object URLs of the local previews still in use: revoked when their upload is removed, and all
  // of them when the composer goes (the browser keeps each file's bytes until then).
  const previews = useRef(new Set<string>());

  const accounts = useMemo(() => (accountsLoad.data?.accounts ?? []).filter((a) => a.status !== 'disconnected'), [accountsLoad.data]);
  const needsApproval = !!workspace.settings?.requireApproval && !can('posts.approve');

  // Editing: fill the form from the post once.
  useEffect(() => {
    const p = existing.data;
    if (!p || loadedFor.current === p.id) return;
    loadedFor.current = p.id;
    setText(p.text);
    setUploads([]);
    addById(workspace.id, p.mediaIds, setUploads);
    const latest = new Map<string, Variant>();
    for (const t of p.targets) latest.set(t.accountId, t.variant ?? {});
    setChosen([...latest.keys()]);
    const first = [...latest.values()][0];
    setParts((first?.thread ?? []).map((x) => ({ key: newKey(), text: x.text })));
    setOwn(Object.fromEntries([...latest].map(([id, v]) => [id, { text: v.text ?? null, firstComment: v.firstComment ?? null, ...(v.options ? { options: v.options } : {}) }])));
    if (p.status === 'draft') setWhen('draft');
    else if (p.schedule?.mode === 'queue') setWhen('queue');
    else setWhen('at');
    if (p.schedule?.localTime && p.schedule.timeZone) {
      setZone(p.schedule.timeZone);
      setAt({ date: p.schedule.localTime.slice(0, 10), time: p.schedule.localTime.slice(11) });
    } else if (p.schedule?.publishAt) {
      const lp = localParts(new Date(p.schedule.publishAt), zone);
      setAt({ date: lp.date, time: lp.time.slice(0, 5) });
    }
  }, [existing.data, workspace, zone]);

  // Creating: choose the account when there is only one and it is active (once the accounts are loaded,
  // and only if nothing is chosen yet).
  useEffect(() => {
    if (postId || !accountsLoad.data) return;
    const only = accounts.length === 1 && accounts[0]!.status === 'active' ? accounts[0]!.id : null;
    if (only) setChosen((c) => (c.length === 0 ? [only] : c));
  }, [accountsLoad.data, accounts, postId]);

  const networkOf = useCallback((a: Account): Network | undefined => networks.find((n) => n.id === a.provider), [networks]);
  const chosenAccounts = useMemo(() => accounts.filter((a) => chosen.includes(a.id)), [accounts, chosen]);
  const media = useMemo(() => uploads.flatMap((u) => (u.media ? [u.media] : [])), [uploads]);

  /** The checks of every chosen account, by the server's own rules. */
  const checks = useMemo(() => chosenAccounts.map((a) => {
    const n = networkOf(a);
    if (!n) return { account: a, problems: [] as Problem[], counts: [] as Count[], threads: true };
    const o = own[a.id];
    const threads = n.limits.threads;
    const facts = media.map((m) => ({ id: m.id, mimeType: m.mimeType, bytes: m.bytes, width: m.width, height: m.height, durationSeconds: m.durationSeconds }));
    const r = checkTarget(a.id, a.provider, `${n.displayName} (${a.username})`, n.limits, {
      parts: [{ text: o?.text ?? text, media: facts }, ...(threads ? parts.map((p) => ({ text: p.text, media: [] })) : [])],
      ...(o?.firstComment != null ? { firstComment: o.firstComment } : {}),
      ...(o?.options ? { options: o.options } : {}),
    });
    return { account: a, ...r, threads };
  }), [chosenAccounts, networkOf, own, text, parts, media]);

  const localProblems = checks.flatMap((c) => c.problems);
  const label = (a: Account) => `${providerName(networks, a.provider)} · ${a.username}`;
  const countsFor = (field: string, onlyBase = false) => checks
    .filter((c) => !(onlyBase && field === 'text' && own[c.account.id]?.text != null))
    .map((c) => ({ label: label(c.account), count: c.counts.find((x) => x.field === field) }));

  // ---------- media ----------
  const addMediaIds = (ids: string[]) => addById(workspace.id, ids, setUploads);
  const addLibraryMedia = (ms: Media[]) => setUploads((us) => [
    ...us, ...ms.filter((m) => !us.some((u) => (u.media?.id ?? u.mediaId) === m.id)).map((m) => ({ key: newKey(), name: m.fileName, mediaId: m.id, media: m })),
  ]);
  const addFiles = (files: FileList | null) => {
    if (!files) return;
    for (const file of Array.from(files)) {
      const key = newKey();
      const preview = URL.createObjectURL(file);
      previews.current.add(preview);
      setUploads((us) => [...us, { key, name: file.name, preview }]);
      const form = new FormData();
      form.append('file', file, file.name);
      api.post<Media>(wsPath(workspace, '/media'), undefined, { form }).then(
        (m) => setUploads((us) => us.map((u) => (u.key === key ? { ...u, media: m } : u))),
        (err: unknown) => setUploads((us) => us.map((u) => (u.key === key ? { ...u, error: messageOf(err) } : u))),
      );
    }
  };
  const setAlt = async (u: Upload, alt: string) => {
    if (!u.media || (u.media.altText ?? '') === alt) return;
    try {
      const m = await api.patch<Media>(wsPath(workspace, `/media/${u.media.id}`), { altText: alt || null });
      setUploads((us) => us.map((x) => (x.key === u.key ? { ...x, media: m } : x)));
    } catch (err) {
      toast.error(err);
    }
  };
  const removeUpload = (u: Upload) => {
    if (u.preview) {
      URL.revokeObjectURL(u.preview);
      previews.current.delete(u.preview);
    }
    setUploads((us) => us.filter((x) => x.key !== u.key));
  };
  useEffect(() => {
    const live = previews.current;
    return () => { for (const url of live) URL.revokeObjectURL(url); };
  }, []);

  // ---------- reusable content ----------
  /** A rendered template: its text, each chosen account's network text, its files (after those already added). */
  const applyTemplate = (r: RenderedTemplate, t: Template) => {
    setText(r.text);
    setTouched(true);
    const unmatched: string[] = [];
    const next = { ...own };
    for (const [network, variant] of Object.entries(r.variants)) {
      const on = chosenAccounts.filter((a) => a.provider === network);
      if (on.length === 0) unmatched.push(providerName(networks, network));
      for (const a of on) next[a.id] = { firstComment: null, ...next[a.id], text: variant };
    }
    setOwn(next);
    setTemplateTexts(r.variants);
    addMediaIds(r.mediaIds);
    const files = r.mediaIds.length ? ` and ${r.mediaIds.length} file${r.mediaIds.length === 1 ? '' : 's'}` : '';
    toast.ok(`Template "${t.name}" inserted${files}.${unmatched.length ? ` Its text for ${unmatched.join(', ')} goes to an account of that network when you choose one.` : ''}`);
  };
  const ownBox = (accountId: string) => document.getElementById(`own-text-${accountId}`) as HTMLTextAreaElement | null;
  const insertHashtags = (g: HashtagGroup) => {
    const into = hashInto;
    const current = into === 'all' ? text : own[into]?.text ?? '';
    const box = into === 'all' ? textBox.current : ownBox(into);
    const at = insertAt(current, box?.selectionStart ?? current.length, box?.selectionEnd ?? current.length, g.hashtags.join(' '));
    if (into === 'all') setText(at.text);
    else setOwn((all) => ({ ...all, [into]: { firstComment: null, ...all[into], text: at.text } }));
    setTouched(true);
    setCaret({ into, at: at.caret });
  };
  const openHashtags = (into: string) => {
    setHashInto(into);
    setPicker('hashtags');
  };
  // The caret goes after the inserted hashtags. An effect of this component runs after its children's, so after
  // the dialog's own closing has given focus back to the button that opened it.
  useEffect(() => {
    if (caret === null) return;
    const box = caret.into === 'all' ? textBox.current : ownBox(caret.into);
    box?.focus();
    box?.setSelectionRange(caret.at, caret.at);
    setCaret(null);
  }, [caret]);

  // ---------- saving ----------
  const body = () => ({
    text,
    mediaIds: uploads.flatMap((u) => (u.media ? [u.media.id] : u.mediaId ? [u.mediaId] : [])),
    targets: chosenAccounts.map((a) => {
      const o = own[a.id];
      const threads = networkOf(a)?.limits.threads ?? false;
      return {
        accountId: a.id,
        ...(o?.text != null ? { text: o.text } : {}),
        ...(threads && parts.length ? { thread: parts.map((p) => ({ text: p.text })) } : {}),
        ...(o?.firstComment != null ? { firstComment: o.firstComment } : {}),
        ...(o?.options && Object.keys(o.options).length ? { options: o.options } : {}),
      };
    }),
  });
  const schedule = () => {
    if (when === 'now') return { now: true as const };
    if (when === 'queue') return { queue: true as const };
    const recurrence = repeat === 'daily' ? { every: 'days', interval: 1 } : repeat === 'weekly' ? { every: 'weeks', interval: 1, weekdays: [weekday(date)] } : undefined;
    return { localTime: `${date}T${time}`, timeZone: zone, ...(recurrence ? { recurrence } : {}) };
  };

  const save = async (e: Event) => {
    e.preventDefault();
    if (blocked) {
      setAttempted(true);
      requestAnimationFrame(() => problemsBox.current?.focus());
      return;
    }
    setBusy(true);
    setError(null);
    setServerProblems([]);
    try {
      let post: Post;
      const spec = when === 'draft' ? undefined : schedule();
      if (!postId) {
        // One call when scheduling directly: the post is saved and scheduled together, or not at all.
        post = await api.post<Post>(wsPath(workspace, '/posts'), { ...body(), ...(spec && !needsApproval ? { schedule: spec } : {}) });
        if (spec && needsApproval) {
          try {
            post = await api.post<Post>(wsPath(workspace, `/posts/${post.id}/submit`), spec);
          } catch (err) {
            navigate(`/compose/${post.id}`, { replace: true });
            throw err;
          }
        }
      } else {
        const before = existing.data!;
        post = await api.put<Post>(wsPath(workspace, `/posts/${postId}`), { ...body(), version: before.version });
        if (spec) post = await api.post<Post>(wsPath(workspace, `/posts/${postId}/${needsApproval ? 'submit' : 'schedule'}`), spec);
        else if (before.status !== 'draft') post = await api.post<Post>(wsPath(workspace, `/posts/${postId}/unschedule`));
      }
      toast.ok(!spec ? 'Draft saved.' : needsApproval ? 'Submitted for approval.' : when === 'now' ? 'Publishing now.' : when === 'queue' ? 'Added to the queue.' : 'Scheduled.');
      navigate(`/posts/${post.id}`);
    } catch (err) {
      setError(err);
      if (err instanceof ApiError && Array.isArray(err.details)) setServerProblems((err.details as Problem[]).filter((p) => p && typeof p.accountId === 'string'));
    } finally {
      setBusy(false);
    }
  };

  // ---------- tabs ----------
  const uploading = uploads.some((u) => !u.media && !u.error);
  const blocked = when !== 'draft' && localProblems.length > 0;
  const showProblems = touched || attempted || uploads.length > 0;

  const tabs = [{ id: 'all', label: 'All networks' }, ...chosenAccounts.map((a) => ({ id: a.id, label: label(a) }))];
  // The tab of an account no longer chosen falls back to "All networks" (unchoosing one also resets it).
  const activeTab = tabs.some((t) => t.id === tab) ? tab : 'all';
  const onTabKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === activeTab);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    e.preventDefault();
    setTab(tabs[next]!.id);
    requestAnimationFrame(() => document.getElementById(`tab-${tabs[next]!.id}`)?.focus());
  };

  if (!can('posts.write')) return <Page title="Compose"><Empty>Your role can read posts but not write them.</Empty></Page>;
  if (accountsLoad.loading && !accountsLoad.data) return <Page title={postId ? 'Edit post' : 'Compose'}><Loading /></Page>;
  if (accountsLoad.error) return <Page title="Compose"><ErrorNote error={accountsLoad.error} retry={accountsLoad.reload} /></Page>;
  if (postId && existing.error) return <Page title="Edit post"><ErrorNote error={existing.error} retry={existing.reload} /></Page>;
  if (postId && !existing.data) return <Page title="Edit post"><Loading /></Page>;
  if (accounts.length === 0) {
    return (
      <Page title="Compose">
        <Empty>Connect a social account first: <Link href={ROUTES.accounts}>Accounts</Link>.</Empty>
      </Page>
    );
  }

  const action = when === 'draft' ? 'Save draft' : needsApproval ? 'Submit for approval' : when === 'now' ? 'Publish now' : when === 'queue' ? 'Add to queue' : 'Schedule';
  const review = existing.data?.review;
  const problemsFor = (accountId: string) => [...(checks.find((c) => c.account.id === accountId)?.problems ?? []), ...serverProblems.filter((p) => p.accountId === accountId)];

  return (
    <Page title={postId ? 'Edit post' : 'Compose'}>
      {review?.decision === 'rejected' && review.comment && (
        <div class="notice" role="note"><strong>Changes requested:</strong> {review.comment}</div>
      )}
      <form class="composer" onSubmit={save} noValidate>
        <fieldset class="card">
          <legend>Post to</legend>
          <ul class="choices">
            {accounts.map((a) => (
              <li key={a.id}>
                <input type="checkbox" id={`acc-${a.id}`} checked={chosen.includes(a.id)} disabled={a.status !== 'active' && !chosen.includes(a.id)}
                  onChange={(e) => {
                    const on = e.currentTarget.checked;
                    setChosen((c) => (on ? [...c, a.id] : c.filter((x) => x !== a.id)));
                    // An account chosen after a template was inserted gets the template's text for its network.
                    const fromTemplate = templateTexts[a.provider];
                    if (on && fromTemplate !== undefined && own[a.id]?.text == null) setOwn((all) => ({ ...all, [a.id]: { firstComment: null, ...all[a.id], text: fromTemplate } }));
                    if (!on && tab === a.id) setTab('all');
                  }} />
                <label for={`acc-${a.id}`}>{label(a)}{a.status !== 'active' ? ` (${a.status === 'needs_reconnect' ? 'needs reconnecting' : a.status})` : ''}</label>
              </li>
            ))}
          </ul>
        </fieldset>

        <div class="card">
          <div role="tablist" aria-label="Text per network" class="tabs" onKeyDown={onTabKey}>
            {tabs.map((t) => (
              <button key={t.id} type="button" role="tab" id={`tab-${t.id}`} aria-selected={activeTab === t.id} aria-controls={`panel-${t.id}`}
                tabIndex={activeTab === t.id ? 0 : -1} class="tab" onClick={() => setTab(t.id)}>
                {t.label}
                {t.id !== 'all' && showProblems && problemsFor(t.id).length > 0 && <span class="tab-dot" aria-label="has problems">!</span>}
              </button>
            ))}
          </div>

          {activeTab === 'all' && (
            <div role="tabpanel" id="panel-all" aria-labelledby="tab-all" class="tabpanel">
              <div class="row wrap">
                <Button small onClick={() => setPicker('template')}>Insert template</Button>
                <Button small onClick={() => openHashtags('all')}>Hashtags</Button>
              </div>
              <Field label="Text" hint={chosenAccounts.length === 0 ? 'Choose at least one account above.' : undefined}>
                {(p) => (
                  <>
                    <textarea {...p} ref={textBox} aria-describedby={`counts-text ${p['aria-describedby'] ?? ''}`.trim()} rows={6} value={text} onInput={(e) => { setText(e.currentTarget.value); setTouched(true); }}
                      placeholder="What do you want to say?" />
                    <Counters counts={countsFor('text', true)} field="text" id="counts-text" />
                  </>
                )}
              </Field>

              <div class="media">
                <span class="label" id="media-label">Images and videos</span>
                {uploads.length > 0 && (
                  <ul class="media-list" aria-labelledby="media-label">
                    {uploads.map((u, i) => (
                      <li key={u.key} class="media-item">
                        <MediaPreview upload={u} workspaceId={workspace.id} />
                        <div class="media-meta">
                          <span class="meta">{u.name}{u.media && u.media.bytes ? ` · ${bytes(u.media.bytes)}` : ''}</span>
                          {!u.media && !u.error && <span class="meta" role="status">Uploading…</span>}
                          {u.error && <span class="field-error" role="alert">{u.error}</span>}
                          {u.media && (
                            <Field label={`Alt text for item ${i + 1}`} hint="Describe it for people who cannot see it.">
                              {(p) => <input {...p} key={u.media!.altText ?? ''} defaultValue={u.media!.altText ?? ''} maxLength={1500} onBlur={(e) => void setAlt(u, e.currentTarget.value.trim())} />}
                            </Field>
                          )}
                          {u.media?.mimeType.startsWith('image/') && can('assistant.use') && (
                            <SuggestAltText mediaId={u.media.id} postText={text} onUse={(alt) => void setAlt(u, alt.trim())} />
                          )}
                          <Button small kind="quiet" label={`Remove ${u.name}`} onClick={() => removeUpload(u)}>Remove</Button>
                        </div>
                      </li>
                    ))}
                  </ul>
                )}
                <label class="button button-secondary file-button">
                  Add images or videos
                  <input type="file" class="visually-hidden" multiple accept="image/jpeg,image/png,image/gif,image/webp,video/mp4,video/quicktime"
                    onChange={(e) => { addFiles(e.currentTarget.files); e.currentTarget.value = ''; }} />
                </label>
                <Button onClick={() => setPicker('media')}>Choose from the library</Button>
              </div>

              <div class="thread">
                {parts.map((part, i) => (
                  <div key={part.key} class="thread-part">
                    <Field label={`Thread part ${i + 2}`} hint="Published as a reply to the part before, on networks that take threads.">
                      {(p) => (
                        <>
                          <textarea {...p} aria-describedby={`counts-part-${part.key}`} rows={3} value={part.text}
                            onInput={(e) => { const v = e.currentTarget.value; setParts((ps) => ps.map((x) => (x.key === part.key ? { ...x, text: v } : x))); }} />
                          <Counters counts={countsFor(`thread[${i}].text`)} field={`thread part ${i + 2}`} id={`counts-part-${part.key}`} />
                        </>
                      )}
                    </Field>
                    <Button small kind="quiet" label={`Remove thread part ${i + 2}`} onClick={() => setParts((ps) => ps.filter((x) => x.key !== part.key))}>Remove part</Button>
                  </div>
                ))}
                <Button small onClick={() => setParts((ps) => [...ps, { key: newKey(), text: '' }])}>Add a thread part</Button>
                {parts.length > 0 && checks.some((c) => !c.threads) && (
                  <p class="hint">{checks.filter((c) => !c.threads).map((c) => label(c.account)).join(', ')}: no threads there, so only the first part is published.</p>
                )}
              </div>
            </div>
          )}

          {chosenAccounts.filter((a) => a.id === activeTab).map((a) => {
            const n = networkOf(a);
            const o = own[a.id] ?? { text: null, firstComment: null };
            const set = (patch: Partial<Own>) => setOwn((all) => ({ ...all, [a.id]: { ...o, ...patch } }));
            const c = checks.find((x) => x.account.id === a.id);
            const probs = problemsFor(a.id);
            return (
              <div key={a.id} role="tabpanel" id={`panel-${a.id}`} aria-labelledby={`tab-${a.id}`} class="tabpanel">
                {n && <p class="meta">{n.displayName} allows {n.limits.maxTextLength.toLocaleString()} characters as it counts them{n.limits.maxCaptionLength !== undefined ? ` (${n.limits.maxCaptionLength.toLocaleString()} with media)` : ''}, {n.limits.media.maxCount} media{n.limits.threads ? ', threads' : ''}{n.limits.firstComment ? ', a first comment' : ''}.</p>}
                <div class="check">
                  <input id={`own-${a.id}`} type="checkbox" checked={o.text !== null} onChange={(e) => set({ text: e.currentTarget.checked ? text : null })} />
                  <label for={`own-${a.id}`}>Write a different text for {label(a)}</label>
                </div>
                {o.text !== null && (
                  <Field label={`Text for ${label(a)}`} id={`own-text-${a.id}`}>
                    {(p) => (
                      <>
                        <Button small label={`Hashtags for ${label(a)}`} onClick={() => openHashtags(a.id)}>Hashtags</Button>
                        <textarea {...p} aria-describedby={`counts-own-${a.id}`} rows={6} value={o.text ?? ''} onInput={(e) => set({ text: e.currentTarget.value })} />
                        <Counters counts={[{ label: label(a), count: c?.counts.find((x) => x.field === 'text') }]} field="text" id={`counts-own-${a.id}`} />
                      </>
                    )}
                  </Field>
                )}
                {o.text === null && <Counters counts={[{ label: label(a), count: c?.counts.find((x) => x.field === 'text') }]} field="text" id={`counts-base-${a.id}`} />}
                {n?.limits.firstComment && (
                  <>
                    <div class="check">
                      <input id={`fc-${a.id}`} type="checkbox" checked={o.firstComment !== null} onChange={(e) => set({ firstComment: e.currentTarget.checked ? '' : null })} />
                      <label for={`fc-${a.id}`}>Add a first comment</label>
                    </div>
                    {o.firstComment !== null && (
                      <Field label={`First comment on ${label(a)}`}>
                        {(p) => (
                          <>
                            <textarea {...p} aria-describedby={`counts-fc-${a.id}`} rows={3} value={o.firstComment ?? ''} onInput={(e) => set({ firstComment: e.currentTarget.value })} />
                            <Counters counts={[{ label: label(a), count: c?.counts.find((x) => x.field === 'firstComment') }]} field="first comment" id={`counts-fc-${a.id}`} />
                          </>
                        )}
                      </Field>
                    )}
                  </>
                )}
                {a.provider === 'facebook' && media.some((m) => m.mimeType.startsWith('video/')) && (
                  <p class="hint">Facebook publishes a video as a Reel: one MP4 of 3 to 90 seconds, with the text as its description.</p>
                )}
                {a.provider === 'instagram' && (
                  <>
                    <div class="check">
                      <input id={`story-${a.id}`} type="checkbox" checked={o.options?.story === true}
                        onChange={(e) => {
                          const { story: _, ...rest } = o.options ?? {};
                          set({ options: e.currentTarget.checked ? { ...rest, story: true } : rest });
                        }} />
                      <label for={`story-${a.id}`}>Publish as a Story</label>
                    </div>
                    {o.options?.story === true && <p class="hint">A Story shows one image or one video (up to 60 seconds) for 24 hours, with no caption: the text is not published to it.</p>}
                  </>
                )}
                {a.provider === 'bluesky' && (
                  <>
                    <div class="check">
                      <input id={`card-${a.id}`} type="checkbox" checked={o.options?.linkCard !== false}
                        onChange={(e) => {
                          const { linkCard: _, ...rest } = o.options ?? {};
                          set({ options: e.currentTarget.checked ? rest : { ...rest, linkCard: false } });
                        }} />
                      <label for={`card-${a.id}`}>Show the first link as a card</label>
                    </div>
                    {o.options?.linkCard !== false && (uploads.length > 0
                      ? <p class="hint">A post with images shows them instead of a link card.</p>
                      : <LinkCardPreview text={o.text ?? text} />)}
                  </>
                )}
                {a.provider === 'telegram' && (
                  <>
                    {([['silent', 'Send without a notification sound'], ['asDocuments', 'Send images and videos as files (uncompressed)']] as const).map(([key, label]) => (
                      <div class="check" key={key}>
                        <input id={`${key}-${a.id}`} type="checkbox" checked={o.options?.[key] === true}
                          onChange={(e) => {
                            const { [key]: _, ...rest } = o.options ?? {};
                            set({ options: e.currentTarget.checked ? { ...rest, [key]: true } : rest });
                          }} />
                        <label for={`${key}-${a.id}`}>{label}</label>
                      </div>
                    ))}
                    {uploads.length > 0 && <p class="hint">With media, Telegram shows the text as a caption of at most 1,024 characters; several images or videos go as one album.</p>}
                  </>
                )}
                {a.provider === 'lemmy' && (() => {
                  // Lemmy: the community and title are required; a link and NSFW are optional.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const text = (v: unknown) => (typeof v === 'string' ? v : '');
                  return (
                    <>
                      <Field label="Community" hint="The community's name on your instance, or name@instance for another instance's.">
                        {(p) => <input {...p} required value={text(opts.community)} onInput={(e) => setOpt('community', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      <Field label="Title">{(p) => <input {...p} required maxLength={200} value={text(opts.title)} onInput={(e) => setOpt('title', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}</Field>
                      <Field label="Link (optional)" hint="The post links here; the text is its body. Or attach one image instead.">
                        {(p) => <input {...p} type="url" value={text(opts.url)} onInput={(e) => setOpt('url', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      <div class="check">
                        <input id={`nsfw-${a.id}`} type="checkbox" checked={opts.nsfw === true} onChange={(e) => setOpt('nsfw', e.currentTarget.checked ? true : undefined)} />
                        <label for={`nsfw-${a.id}`}>NSFW</label>
                      </div>
                    </>
                  );
                })()}
                {a.provider === 'slack' && (() => {
                  // Slack: the channel is required (the account is the workspace); links unfurl on request.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  return (
                    <>
                      <Field label="Channel" hint="#name of a channel the app was invited to (/invite), or the channel's id.">
                        {(p) => <input {...p} required value={typeof opts.channel === 'string' ? opts.channel : ''} onInput={(e) => setOpt('channel', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      {([['unfurlLinks', 'Show previews of links'], ['broadcast', 'Show thread replies in the channel too']] as const).map(([key, label]) => (
                        <div class="check" key={key}>
                          <input id={`${key}-${a.id}`} type="checkbox" checked={opts[key] === true} onChange={(e) => setOpt(key, e.currentTarget.checked ? true : undefined)} />
                          <label for={`${key}-${a.id}`}>{label}</label>
                        </div>
                      ))}
                    </>
                  );
                })()}
                {a.provider === 'youtube' && (() => {
                  // YouTube: one video (and an image as its thumbnail); the text is the description, the title is required.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const str = (v: unknown) => (typeof v === 'string' ? v : '');
                  const tags = Array.isArray(opts.tags) ? (opts.tags as string[]).join(', ') : '';
                  // publishAt is stored as an instant; the field shows it in the browser's zone.
                  const at = typeof opts.publishAt === 'string' && !Number.isNaN(Date.parse(opts.publishAt))
                    ? new Date(Date.parse(opts.publishAt) - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '';
                  return (
                    <>
                      <Field label="Title">{(p) => <input {...p} required maxLength={100} value={str(opts.title)} onInput={(e) => setOpt('title', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}</Field>
                      <Field label="Tags (optional)" hint="Separated by commas; 500 characters in all.">
                        {(p) => <input {...p} value={tags} onChange={(e) => {
                          const list = e.currentTarget.value.split(',').map((x) => x.trim()).filter(Boolean);
                          setOpt('tags', list.length ? list : undefined);
                        }} />}
                      </Field>
                      <Field label="Privacy" hint="Until this AllIN's Google project passes YouTube's audit, YouTube keeps every upload private.">
                        {(p) => (
                          <select {...p} value={str(opts.privacy) || 'public'} onChange={(e) => setOpt('privacy', e.currentTarget.value === 'public' ? undefined : e.currentTarget.value)}>
                            <option value="public">Public</option>
                            <option value="unlisted">Unlisted</option>
                            <option value="private">Private</option>
                          </select>
                        )}
                      </Field>
                      <Field label="Category id (optional)" hint="22 (People & Blogs) when left empty.">
                        {(p) => <input {...p} inputMode="numeric" value={str(opts.categoryId)} onInput={(e) => setOpt('categoryId', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      <Field label="YouTube makes it public at (optional)" hint="Uploaded private until then.">
                        {(p) => <input {...p} type="datetime-local" value={at} onChange={(e) => {
                          const v = e.currentTarget.value;
                          const { publishAt: _, ...rest } = opts;
                          set({ options: v ? { ...rest, publishAt: new Date(v).toISOString(), privacy: 'private' } : rest });
                        }} />}
                      </Field>
                      {([['madeForKids', 'Made for kids'], ['short', 'A Short (up to 3 minutes, square or vertical)']] as const).map(([key, label]) => (
                        <div class="check" key={key}>
                          <input id={`${key}-${a.id}`} type="checkbox" checked={opts[key] === true} onChange={(e) => setOpt(key, e.currentTarget.checked ? true : undefined)} />
                          <label for={`${key}-${a.id}`}>{label}</label>
                        </div>
                      ))}
                    </>
                  );
                })()}
                {a.provider === 'tiktok' && (() => {
                  // TikTok: a direct post needs a privacy level the creator chooses (no default, as TikTok asks); an
                  // inbox draft has none (the creator finishes it in TikTok). Interaction and brand settings are optional.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const str = (v: unknown) => (typeof v === 'string' ? v : '');
                  const inbox = opts.mode === 'inbox';
                  const checks: [string, string][] = inbox ? [] : [
                    ['disableComment', 'Comments off'], ['disableDuet', 'Duets off (videos)'], ['disableStitch', 'Stitches off (videos)'],
                    ['brandOrganic', 'Promotes my own business'], ['brandContent', 'Paid partnership (branded content; cannot be private)'], ['autoAddMusic', 'Add music (photos)'],
                  ];
                  return (
                    <>
                      <Field label="Send as" hint="A draft goes to the creator's TikTok inbox, to be finished and posted in the app.">
                        {(p) => (
                          <select {...p} value={inbox ? 'inbox' : 'direct'} onChange={(e) => {
                            const { mode: _m, privacyLevel: _p, disableComment: _c, disableDuet: _d, disableStitch: _s, brandContent: _b, brandOrganic: _o, autoAddMusic: _a, ...rest } = opts;
                            set({ options: e.currentTarget.value === 'inbox' ? { ...rest, mode: 'inbox' } : rest });
                          }}>
                            <option value="direct">A post, published now or when scheduled</option>
                            <option value="inbox">A draft in the creator's inbox</option>
                          </select>
                        )}
                      </Field>
                      {!inbox && (
                        <Field label="Who can see it" hint="Until this AllIN's TikTok app passes TikTok's audit, TikTok allows only “Only me” (private accounts).">
                          {(p) => (
                            <select {...p} required value={str(opts.privacyLevel)} onChange={(e) => setOpt('privacyLevel', e.currentTarget.value === '' ? undefined : e.currentTarget.value)}>
                              <option value="">Choose…</option>
                              <option value="PUBLIC_TO_EVERYONE">Everyone</option>
                              <option value="MUTUAL_FOLLOW_FRIENDS">Friends</option>
                              <option value="FOLLOWER_OF_CREATOR">Followers</option>
                              <option value="SELF_ONLY">Only me</option>
                            </select>
                          )}
                        </Field>
                      )}
                      <Field label="Title (photo posts, optional)" hint="A video's caption is the post's text.">
                        {(p) => <input {...p} maxLength={90} value={str(opts.title)} onInput={(e) => setOpt('title', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}
                      </Field>
                      {checks.map(([key, label]) => (
                        <div class="check" key={key}>
                          <input id={`tt-${key}-${a.id}`} type="checkbox" checked={opts[key] === true} onChange={(e) => setOpt(key, e.currentTarget.checked ? true : undefined)} />
                          <label for={`tt-${key}-${a.id}`}>{label}</label>
                        </div>
                      ))}
                    </>
                  );
                })()}
                {a.provider === 'pinterest' && (() => {
                  // Pinterest: the board is required (its name or id); a section, title, link and alt text are optional.
                  // The media make the Pin: an image, 2-5 images (a carousel), or a video and an optional cover image.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const str = (v: unknown) => (typeof v === 'string' ? v : '');
                  const trimmed = (key: string) => (e: { currentTarget: HTMLInputElement }) => setOpt(key, e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim());
                  return (
                    <>
                      <Field label="Board" hint="The board's name as on Pinterest (or its id).">
                        {(p) => <input {...p} required maxLength={180} value={str(opts.board)} onInput={trimmed('board')} />}
                      </Field>
                      <Field label="Section (optional)" hint="A section of that board, by name.">
                        {(p) => <input {...p} maxLength={180} value={str(opts.section)} onInput={trimmed('section')} />}
                      </Field>
                      <Field label="Title (optional)">{(p) => <input {...p} maxLength={100} value={str(opts.title)} onInput={(e) => setOpt('title', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}</Field>
                      <Field label="Link (optional)" hint="Where the Pin leads.">
                        {(p) => <input {...p} type="url" maxLength={2048} value={str(opts.link)} onInput={trimmed('link')} />}
                      </Field>
                      <Field label="Alt text (optional)" hint="Describes the image for people who cannot see it; the image's own alt text is used when empty.">
                        {(p) => <input {...p} maxLength={500} value={str(opts.altText)} onInput={(e) => setOpt('altText', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}
                      </Field>
                    </>
                  );
                })()}
                {a.provider === 'tumblr' && (() => {
                  // Tumblr: the blog (else the primary one), tags, the state (a queued post may have its own time), a link
                  // block, and whether the text is a quotation. Paragraphs (split by blank lines) hold 4,096 characters each.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const str = (v: unknown) => (typeof v === 'string' ? v : '');
                  const tags = Array.isArray(opts.tags) ? (opts.tags as string[]).join(', ') : '';
                  // publishOn is stored as an instant; the field shows it in the browser's zone.
                  const at = typeof opts.publishOn === 'string' && !Number.isNaN(Date.parse(opts.publishOn))
                    ? new Date(Date.parse(opts.publishOn) - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) : '';
                  return (
                    <>
                      <Field label="Blog (optional)" hint="The blog's name, as in name.tumblr.com; your primary blog when empty.">
                        {(p) => <input {...p} maxLength={100} value={str(opts.blog)} onInput={(e) => setOpt('blog', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      <Field label="Tags (optional)" hint="Separated by commas; up to 30.">
                        {(p) => <input {...p} value={tags} onChange={(e) => {
                          const list = e.currentTarget.value.split(',').map((x) => x.trim()).filter(Boolean);
                          setOpt('tags', list.length ? list : undefined);
                        }} />}
                      </Field>
                      <Field label="State" hint="Queued posts go to the end of the blog's queue, or out at the time below.">
                        {(p) => (
                          <select {...p} value={str(opts.state) || 'published'} onChange={(e) => {
                            const v = e.currentTarget.value;
                            const { state: _, publishOn: __, ...rest } = opts;
                            set({ options: v === 'published' ? rest : { ...rest, state: v, ...(v === 'queue' && opts.publishOn ? { publishOn: opts.publishOn } : {}) } });
                          }}>
                            <option value="published">Published</option>
                            <option value="queue">Queued</option>
                            <option value="draft">Draft</option>
                            <option value="private">Private</option>
                          </select>
                        )}
                      </Field>
                      {opts.state === 'queue' && (
                        <Field label="Tumblr publishes it at (optional)">
                          {(p) => <input {...p} type="datetime-local" value={at} onChange={(e) => setOpt('publishOn', e.currentTarget.value ? new Date(e.currentTarget.value).toISOString() : undefined)} />}
                        </Field>
                      )}
                      <Field label="Link (optional)" hint="Shown as a link card; Tumblr fills it from the page.">
                        {(p) => <input {...p} type="url" maxLength={2048} value={str(opts.link)} onInput={(e) => setOpt('link', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim())} />}
                      </Field>
                      <div class="check">
                        <input id={`quote-${a.id}`} type="checkbox" checked={opts.quote === true} onChange={(e) => {
                          const { quote: _, quoteSource: __, ...rest } = opts;
                          set({ options: e.currentTarget.checked ? { ...rest, quote: true } : rest });
                        }} />
                        <label for={`quote-${a.id}`}>The text is a quotation</label>
                      </div>
                      {opts.quote === true && (
                        <Field label="Who said it (optional)">
                          {(p) => <input {...p} maxLength={500} value={str(opts.quoteSource)} onInput={(e) => setOpt('quoteSource', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value)} />}
                        </Field>
                      )}
                    </>
                  );
                })()}
                {a.provider === 'reddit' && (() => {
                  // Reddit: the subreddit and title are required; a link, a flair, NSFW and spoiler are optional.
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const str = (v: unknown) => (typeof v === 'string' ? v : '');
                  const trimmed = (key: string) => (e: { currentTarget: HTMLInputElement }) => setOpt(key, e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value.trim());
                  return (
                    <>
                      <Field label="Subreddit" hint="Its name, e.g. r/webdev. Check its rules first.">
                        {(p) => <input {...p} required value={str(opts.subreddit)} onInput={trimmed('subreddit')} />}
                      </Field>
                      <Field label="Title">{(p) => <input {...p} required maxLength={300} value={str(opts.title)} onInput={(e) => setOpt('title', e.currentTarget.value === '' ? undefined : e.currentTarget.value)} />}</Field>
                      <Field label="Link (optional)" hint="Makes a link post. Or attach one image for an image post.">
                        {(p) => <input {...p} type="url" value={str(opts.url)} onInput={trimmed('url')} />}
                      </Field>
                      <Field label="Flair id (optional)" hint="Required by some subreddits; publishing without one lists the flairs to choose from.">
                        {(p) => <input {...p} value={str(opts.flairId)} onInput={trimmed('flairId')} />}
                      </Field>
                      {([['nsfw', 'NSFW'], ['spoiler', 'Spoiler']] as const).map(([key, label]) => (
                        <div class="check" key={key}>
                          <input id={`${key}-${a.id}`} type="checkbox" checked={opts[key] === true} onChange={(e) => setOpt(key, e.currentTarget.checked ? true : undefined)} />
                          <label for={`${key}-${a.id}`}>{label}</label>
                        </div>
                      ))}
                    </>
                  );
                })()}
                {a.provider === 'nostr' && (
                  <>
                    <Field label="Content warning" hint="Optional: clients hide the note behind this reason until it is opened (NIP-36).">
                      {(p) => <input {...p} maxLength={200} value={typeof o.options?.contentWarning === 'string' ? o.options.contentWarning : ''}
                        onInput={(e) => {
                          const { contentWarning: _, ...rest } = o.options ?? {};
                          const v = e.currentTarget.value;
                          set({ options: v.trim() === '' ? rest : { ...rest, contentWarning: v } });
                        }} />}
                    </Field>
                    {uploads.length > 0 && <p class="hint">Nostr notes link their media: the files go to the account's media server and their links are added to the text.</p>}
                  </>
                )}
                {a.provider === 'discord' && (() => {
                  // Discord: a forum post's title, silence, and one embed here (the API takes up to 10).
                  const opts = o.options ?? {};
                  const setOpt = (key: string, value: unknown) => {
                    const { [key]: _, ...rest } = opts;
                    set({ options: value === undefined ? rest : { ...rest, [key]: value } });
                  };
                  const embeds = Array.isArray(opts.embeds) ? opts.embeds as Record<string, unknown>[] : [];
                  const first = embeds[0] ?? {};
                  const setEmbed = (key: 'title' | 'description' | 'url', value: string) => {
                    const { [key]: _, ...rest } = first;
                    const next = value.trim() === '' ? rest : { ...rest, [key]: value };
                    const others = embeds.slice(1);
                    setOpt('embeds', Object.keys(next).length > 0 ? [next, ...others] : others.length > 0 ? others : undefined);
                  };
                  const text = (v: unknown) => (typeof v === 'string' ? v : '');
                  return (
                    <>
                      <Field label="Forum post title" hint="Only for a webhook of a forum or media channel, where every message starts a post: the title of the post this one starts. Thread parts go into it.">
                        {(p) => <input {...p} maxLength={100} value={text(opts.threadName)} onInput={(e) => setOpt('threadName', e.currentTarget.value.trim() === '' ? undefined : e.currentTarget.value)} />}
                      </Field>
                      <div class="check">
                        <input id={`silent-${a.id}`} type="checkbox" checked={opts.silent === true} onChange={(e) => setOpt('silent', e.currentTarget.checked ? true : undefined)} />
                        <label for={`silent-${a.id}`}>Send without notifying anyone</label>
                      </div>
                      <Field label="Embed title">{(p) => <input {...p} maxLength={256} value={text(first.title)} onInput={(e) => setEmbed('title', e.currentTarget.value)} />}</Field>
                      <Field label="Embed description">{(p) => <textarea {...p} rows={3} maxLength={4096} value={text(first.description)} onInput={(e) => setEmbed('description', e.currentTarget.value)} />}</Field>
                      <Field label="Embed link" hint="The embed's title links here (https://…).">{(p) => <input {...p} type="url" value={text(first.url)} onInput={(e) => setEmbed('url', e.currentTarget.value)} />}</Field>
                      {embeds.length > 1 && <p class="hint">This post has {embeds.length} embeds; the others are kept as they are.</p>}
                      {uploads.length > 0 && <p class="hint">Discord shows the files under the text, up to 10 of at most 10 MiB each.</p>}
                    </>
                  );
                })()}
                {showProblems && probs.length > 0 && <ul class="problems">{probs.map((p, i) => <li key={i}>{p.message}</li>)}</ul>}
              </div>
            );
          })}
        </div>

        {can('assistant.use') && (
          <AssistPanel text={text} accounts={chosenAccounts} label={label}
            mediaIds={uploads.flatMap((u) => (u.media ? [u.media.id] : u.mediaId ? [u.mediaId] : []))}
            onUseText={(t) => { setText(t); setTouched(true); }}
            onUseVariant={(accountId, t) => { setOwn((all) => ({ ...all, [accountId]: { firstComment: null, ...all[accountId], text: t } })); setTouched(true); }} />
        )}

        <TemplatePicker open={picker === 'template'} onClose={() => setPicker(null)} onUse={applyTemplate} replaces={text.trim() !== ''} />
        <HashtagPicker open={picker === 'hashtags'} onClose={() => setPicker(null)} onUse={insertHashtags} />
        <MediaPicker open={picker === 'media'} onClose={() => setPicker(null)} onPick={addLibraryMedia}
          taken={uploads.flatMap((u) => (u.media ? [u.media.id] : u.mediaId ? [u.mediaId] : []))} />

        <fieldset class="card when">
          <legend>When</legend>
          <div class="choices choices-inline" role="radiogroup" aria-label="When">
            {([['now', 'Publish now'], ['at', 'At a date and time'], ['queue', 'Next free queue slot'], ['draft', 'Keep as a draft']] as [When, string][]).map(([v, l]) => (
              <span key={v}>
                <input type="radio" name="when" id={`when-${v}`} value={v} checked={when === v} onChange={() => setWhen(v)} />
                <label for={`when-${v}`}>{l}</label>
              </span>
            ))}
          </div>
          {when === 'at' && (
            <div class="row wrap">
              <Field label="Date">{(p) => <input {...p} type="date" required value={date} onInput={(e) => setAt({ date: e.currentTarget.value, time })} />}</Field>
              <Field label="Time">{(p) => <input {...p} type="time" step={1} required value={time} onInput={(e) => setAt({ date, time: e.currentTarget.value })} />}</Field>
              <Field label="Time zone">
                {(p) => (
                  <select {...p} value={zone} onChange={(e) => setZone(e.currentTarget.value)}>
                    {zones().map((z) => <option key={z} value={z}>{z}</option>)}
                  </select>
                )}
              </Field>
              <Field label="Repeat">
                {(p) => (
                  <select {...p} value={repeat} onChange={(e) => setRepeat(e.currentTarget.value as typeof repeat)}>
                    <option value="none">Does not repeat</option>
                    <option value="daily">Every day</option>
                    <option value="weekly">Every week on this weekday</option>
                  </select>
                )}
              </Field>
            </div>
          )}
          {when === 'queue' && <p class="hint">Each account takes its next free posting slot (set them in <Link href="/settings/slots">Settings → Time slots</Link>).</p>}
          {needsApproval && when !== 'draft' && <p class="hint">This workspace requires approval: an owner or admin schedules the post once they approve it.</p>}
        </fieldset>

        {showProblems && localProblems.length > 0 && (
          <div class="error-note" role="status" tabIndex={-1} ref={problemsBox}>
            <p>{when === 'draft' ? 'You can save the draft, but it cannot be scheduled yet:' : 'Fix these before it can go out:'}</p>
            <ul>{localProblems.map((p, i) => <li key={i}>{p.message}</li>)}</ul>
          </div>
        )}
        {error ? <ErrorNote error={error} /> : null}
        <div class="row">
          <button type="submit" class="button button-primary" disabled={busy || uploading || chosenAccounts.length === 0} aria-busy={busy ? 'true' : undefined}>{action}</button>
          {uploading && <span class="meta" role="status">Waiting for uploads…</span>}
          {postId && <Link href={`/posts/${postId}`} class="button button-quiet">Cancel</Link>}
        </div>
      </form>
    </Page>
  );
}

/** The card Bluesky will show, read by the server a moment after the typing stops. */
function LinkCardPreview({ text }: { text: string }) {
  const { workspace } = useApp();
  const [card, setCard] = useState<LinkCard | null | undefined>(undefined);
  const [failed, setFailed] = useState<unknown>(null);
  const cardPath = wsPath(workspace, '/link-card');
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      api.post<{ card: LinkCard | null }>(cardPath, { text }).then(
        (r) => { if (live) { setCard(r.card); setFailed(null); } },
        (err: unknown) => { if (live) setFailed(err); },
      );
    }, 600);
    return () => { live = false; clearTimeout(timer); };
  }, [text, cardPath]);
  if (failed) return <p class="hint">The link card could not be previewed: {messageOf(failed)}</p>;
  if (card === undefined) return null;
  if (card === null) return <p class="hint">No link card: the text has no link, or its page says nothing AllIN can show.</p>;
  return (
    <figure class="link-card" aria-label="Link card preview">
      {card.image && <img src={card.image} alt="" />}
      <figcaption>
        <strong>{card.title || card.uri}</strong>
        {card.description && <span>{card.description}</span>}
        <small>{hostOf(card.uri)}</small>
      </figcaption>
    </figure>
  );
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).host;
  } catch {
    return uri;
  }
}
