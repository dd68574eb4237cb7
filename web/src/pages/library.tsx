// The content library (where Hootsuite's "Content Library" and Later's "Media Library" are): the workspace's
// media files (docs/MEDIA.md) with their thumbnails, alt text, folder and tags, and where each is used; its templates and
// hashtag groups (docs/TEMPLATES.md), shared or personal. Tabs are links (/library, /library/templates,
// /library/hashtags). Lists are read a page at a time and searched by the server; every refusal of a form is
// shown next to its field (fieldErrors). Roles without posts.write see everything and change nothing.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, getAll } from '../api.ts';
import { dateTime } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { HashtagGroup, Media, MediaFolder, MediaFolderList, MediaPage, MediaTagList, MediaUses, Paged, Template, TemplateBody } from '../types.ts';
import { Button, ConfirmButton, Empty, ErrorNote, Field, fieldErrors, Link, Loading, messageOf, Page, Submit, toast, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';
import { MediaPicker, MediaThumb, mediaFacts, SearchBox, useSettled } from './pickers.tsx';

const TABS: [string, string][] = [['media', 'Media'], ['templates', 'Templates'], ['hashtags', 'Hashtag groups']];
const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,video/mp4,video/quicktime';

export function Library({ tab }: { tab: string }) {
  const current = TABS.find(([id]) => id === tab);
  let body: ComponentChildren;
  if (!current) body = <Empty>There is no such part of the library.</Empty>;
  else if (tab === 'media') body = <MediaFiles />;
  else if (tab === 'templates') body = <Templates />;
  else body = <HashtagGroups />;
  return (
    <Page title={current ? `Library: ${current[1]}` : 'Library'}>
      <nav aria-label="Library" class="subnav">
        {TABS.map(([id, label]) => <Link key={id} href={id === 'media' ? '/library' : `/library/${id}`} aria-current={id === tab ? 'page' : undefined}>{label}</Link>)}
      </nav>
      {body}
    </Page>
  );
}

// ---------- media ----------

interface Sending { key: number; name: string; error?: string }
let sendKeys = 1;

function MediaFiles() {
  const { workspace, can } = useApp();
  const write = can('posts.write');
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const [type, setType] = useState<'' | 'image' | 'video'>('');
  const [folder, setFolder] = useState('');
  const [tag, setTag] = useState('');
  const [sending, setSending] = useState<Sending[]>([]);
  // Folders and tags are few (a picker's worth): read whole, for the filters and each file's choices.
  const folders = useLoad(() => getAll<MediaFolderList>(wsPath(workspace, '/media-folders'), 'folders'), [workspace.id]);
  const tags = useLoad(() => getAll<MediaTagList>(wsPath(workspace, '/media-tags'), 'tags'), [workspace.id]);
  const pages = usePages(async (cursor) => {
    const r = await api.get<MediaPage>(wsPath(workspace, '/media'), {
      query: { limit: 30, cursor, q: query || undefined, type: type || undefined, folder: folder || undefined, tag: tag || undefined },
    });
    return { items: r.media, nextCursor: r.nextCursor };
  }, [workspace.id, query, type, folder, tag]);
  const folderList = folders.data?.folders ?? [];
  const changed = () => { first.reload(); tags.reload(); };
  const { first, items } = pages;
  // Thumbnails are made by a job seconds after an upload: the newest page is read again until they are.
  const pending = first.data?.items.some((m) => m.previews === 'pending') ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(first.reload, 2000);
    return () => clearTimeout(timer);
  }, [pending, first.data, first.reload]);

  const upload = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      const key = sendKeys++;
      setSending((s) => [...s, { key, name: file.name }]);
      const form = new FormData();
      // Into the folder shown (the field comes before the file, as the API asks).
      if (folder && folder !== 'none') form.append('folderId', folder);
      form.append('file', file, file.name);
      api.post<Media>(wsPath(workspace, '/media'), undefined, { form }).then(
        () => { setSending((s) => s.filter((x) => x.key !== key)); first.reload(); },
        (err: unknown) => setSending((s) => s.map((x) => (x.key === key ? { ...x, error: messageOf(err) } : x))),
      );
    }
  };

  return (
    <>
      <p>Images and videos of this workspace, kept until deleted. Their alt text goes with them to every network that takes it.</p>
      <div class="row wrap">
        <SearchBox label="Search by file name or alt text" value={q} onInput={setQ} />
        <Field label="Type">
          {(p) => (
            <select {...p} value={type} onChange={(e) => setType(e.currentTarget.value as typeof type)}>
              <option value="">Images and videos</option>
              <option value="image">Images</option>
              <option value="video">Videos</option>
            </select>
          )}
        </Field>
        <Field label="In folder">
          {(p) => (
            <select {...p} value={folder} onChange={(e) => setFolder(e.currentTarget.value)}>
              <option value="">All folders</option>
              <option value="none">In no folder</option>
              {folderList.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
            </select>
          )}
        </Field>
        <Field label="With tag">
          {(p) => (
            <select {...p} value={tag} onChange={(e) => setTag(e.currentTarget.value)}>
              <option value="">Any tag</option>
              {(tags.data?.tags ?? []).map((t) => <option key={t.id} value={t.name}>{t.name}</option>)}
            </select>
          )}
        </Field>
      </div>
      {folders.error ? <ErrorNote error={folders.error} retry={folders.reload} /> : null}
      {write && <Folders folders={folderList} current={folder} onChanged={folders.reload} onDeleted={(id) => { if (folder === id) setFolder(''); folders.reload(); }} />}
      {write && (
        <div class="media">
          <label class="button button-primary file-button">
            Upload images or videos
            <input type="file" class="visually-hidden" multiple accept={ACCEPT} onChange={(e) => { upload(e.currentTarget.files); e.currentTarget.value = ''; }} />
          </label>
          {sending.length > 0 && (
            <ul class="list" aria-label="Uploads">
              {sending.map((s) => (
                <li key={s.key} class="list-item">
                  <span class="grow break">{s.name}</span>
                  {s.error ? <span class="field-error" role="alert">{s.error}</span> : <span class="meta" role="status">Uploading…</span>}
                  {s.error && <Button small kind="quiet" label={`Dismiss ${s.name}`} onClick={() => setSending((x) => x.filter((y) => y.key !== s.key))}>Dismiss</Button>}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.loading && !first.data && <Loading />}
      {first.data && items.length === 0 && <Empty>{query || type || folder || tag ? 'No file matches.' : `The library is empty.${write ? ' Upload files above or in the composer.' : ''}`}</Empty>}
      {items.length > 0 && (
        <ul class="media-grid" aria-label="Files">
          {items.map((m) => <MediaCard key={`${m.id}:${m.folderId}:${m.tags.join(',')}:${m.altText}`} media={m} folders={folderList} write={write} onChanged={changed} />)}
        </ul>
      )}
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show more files</Button>}
    </>
  );
}

/** The library's folders (one level): made, renamed and deleted (only an empty one). */
function Folders({ folders, current, onChanged, onDeleted }: { folders: MediaFolder[]; current: string; onChanged: () => void; onDeleted: (id: string) => void }) {
  const { workspace } = useApp();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const shown = folders.find((f) => f.id === current);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const made = await api.post<MediaFolder>(wsPath(workspace, '/media-folders'), { name });
      toast.ok(`Folder ${made.name} made.`);
      setName('');
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="row wrap">
      <form class="row wrap" onSubmit={submit} noValidate aria-label="New folder">
        <Field label="Folder name" error={error ? (fieldErrors(error)['body.name'] ?? messageOf(error)) : undefined}>
          {(p) => <input {...p} maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
        </Field>
        <Submit kind="secondary" busy={busy} disabled={name.trim() === ''}>Make folder</Submit>
      </form>
      {shown && (
        <ConfirmButton small label={`Delete the folder ${shown.name}`} question={`Delete the folder ${shown.name}? Only an empty folder can be deleted; its files are not.`} confirm="Delete folder"
          onConfirm={async () => { await api.del(wsPath(workspace, `/media-folders/${shown.id}`)); toast.ok(`Folder ${shown.name} deleted.`); onDeleted(shown.id); }} />
      )}
    </div>
  );
}

function MediaCard({ media: m, folders, write, onChanged }: { media: Media; folders: MediaFolder[]; write: boolean; onChanged: () => void }) {
  const { workspace, zone } = useApp();
  const [alt, setAlt] = useState(m.altText ?? '');
  const [folderId, setFolderId] = useState(m.folderId ?? '');
  const [tagText, setTagText] = useState(m.tags.join(', '));
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [refusal, setRefusal] = useState<{ message: string; uses: MediaUses | null } | null>(null);
  const path = wsPath(workspace, `/media/${m.id}`);
  const tagNames = tagText.split(',').map((t) => t.trim()).filter(Boolean);
  const edited = {
    ...(alt.trim() !== (m.altText ?? '') ? { altText: alt.trim() || null } : {}),
    ...(folderId !== (m.folderId ?? '') ? { folderId: folderId || null } : {}),
    ...(tagNames.join('\n') !== m.tags.join('\n') ? { tags: tagNames } : {}),
  };
  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      await api.patch<Media>(path, edited);
      toast.ok(`${m.fileName} saved.`);
      onChanged();
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  const remove = async () => {
    try {
      await api.del(path);
    } catch (err) {
      // In use: the refusal names the posts and templates; the full list links to each.
      if (err instanceof ApiError && err.code === 'MEDIA_IN_USE') {
        setRefusal({ message: err.message, uses: await api.get<MediaUses>(`${path}/uses`).catch(() => null) });
        return;
      }
      throw err;
    }
    toast.ok(`${m.fileName} deleted.`);
    onChanged();
  };
  const errs = fieldErrors(saveError);
  const altErr = errs['body.altText'];
  const folderErr = errs['body.folderId'];
  const tagsErr = Object.entries(errs).find(([f]) => /^(body\.)?tags/.test(f))?.[1];
  const otherErr = saveError && !altErr && !folderErr && !tagsErr ? messageOf(saveError) : undefined;
  const folderName = folders.find((f) => f.id === m.folderId)?.name;
  return (
    <li class="media-cell" aria-label={m.fileName}>
      <MediaThumb media={m} />
      <strong class="break">{m.fileName}</strong>
      <span class="meta">{mediaFacts(m)}</span>
      <span class="meta">Uploaded {dateTime(m.createdAt, zone)}</span>
      {write ? (
        <>
          <Field label="Alt text" hint="Describes it for people who cannot see it." error={altErr}>
            {(p) => <textarea {...p} rows={2} value={alt} onInput={(e) => setAlt(e.currentTarget.value)} />}
          </Field>
          <Field label="Folder" error={folderErr}>
            {(p) => (
              <select {...p} value={folderId} onChange={(e) => setFolderId(e.currentTarget.value)}>
                <option value="">No folder</option>
                {folders.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
              </select>
            )}
          </Field>
          <Field label="Tags" hint="Separated by commas; a new name makes a new tag." error={tagsErr}>
            {(p) => <input {...p} value={tagText} onInput={(e) => setTagText(e.currentTarget.value)} />}
          </Field>
          {otherErr && <p class="field-error" role="alert">{otherErr}</p>}
          <div class="row wrap">
            <Button small busy={saving} disabled={Object.keys(edited).length === 0} label={`Save ${m.fileName}`} onClick={() => void save()}>Save</Button>
            <ConfirmButton small label="Delete" question={`Delete ${m.fileName}? It cannot be brought back.`} confirm="Delete file" onConfirm={remove} />
          </div>
        </>
      ) : (
        <>
          {m.altText && <span class="meta break">Alt text: {m.altText}</span>}
          {folderName && <span class="meta">Folder: {folderName}</span>}
          {m.tags.length > 0 && <span class="meta">Tags: {m.tags.join(', ')}</span>}
        </>
      )}
      {refusal && (
        <div class="error-note" role="alert">
          {/* With the list at hand, a sentence for the screen; without it, the API's own (it names the first few). */}
          <p>{refusal.uses && refusal.uses.uses.length > 0
            ? `${m.fileName} is in use, so it was not deleted. Remove it from these posts and templates (or delete them), then delete it:`
            : refusal.message}</p>
          {refusal.uses && refusal.uses.uses.length > 0 && (
            <ul aria-label={`Where ${m.fileName} is used`}>
              {refusal.uses.uses.map((u) => (
                <li key={u.id}>
                  {u.kind === 'post'
                    ? <Link href={`/posts/${u.id}`}>Post: {u.text || '(no text)'}</Link>
                    : <Link href="/library/templates">Template: {u.text || 'another member\'s personal template'}</Link>}
                </li>
              ))}
              {refusal.uses.more && <li>and more</li>}
            </ul>
          )}
        </div>
      )}
    </li>
  );
}

/** A file of a template, by id: its thumbnail and name. */
function MediaById({ id, onRemove }: { id: string; onRemove?: () => void }) {
  const { workspace } = useApp();
  const [m, setM] = useState<Media | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    api.get<Media>(wsPath(workspace, `/media/${id}`)).then((x) => { if (live) setM(x); }, (err: unknown) => { if (live) setError(err); });
    return () => { live = false; };
  }, [id, workspace]);
  return (
    <li class="media-cell">
      {m ? <MediaThumb media={m} /> : <div class="thumb thumb-empty" aria-hidden="true" />}
      <span class="break">{m?.fileName ?? (error ? messageOf(error) : 'Loading…')}</span>
      {onRemove && <Button small kind="quiet" label={`Remove ${m?.fileName ?? 'this file'}`} onClick={onRemove}>Remove</Button>}
    </li>
  );
}

// ---------- templates ----------

function Templates() {
  const { workspace, networks, can } = useApp();
  const write = can('posts.write');
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const [editing, setEditing] = useState<Template | 'new' | null>(null);
  const pages = usePages((cursor) => api.get<Paged<'items', Template>>(wsPath(workspace, '/templates'), { query: { limit: 30, cursor, q: query || undefined } }), [workspace.id, query]);
  const { first, items } = pages;
  const done = () => { setEditing(null); first.reload(); };
  return (
    <>
      <p>A template is a post to start from: its <code>{'{{fields}}'}</code> are asked for when it is used in the composer, and it can carry a text per
        network and files of the library. Shared ones are for everyone in the workspace; personal ones only for you.</p>
      <SearchBox label="Search templates by name" value={q} onInput={setQ} />
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.loading && !first.data && <Loading />}
      {first.data && items.length === 0 && <Empty>{query ? 'No template has that in its name.' : 'No template yet.'}</Empty>}
      {items.length > 0 && (
        <ul class="list" aria-label="Templates">
          {items.map((t) => (
            <li key={t.id} class="list-item" aria-label={t.name}>
              <div class="grow">
                <strong>{t.name}</strong> <span class="meta">{t.personal ? 'Personal' : 'Shared'}</span>
                <div class="meta break">{[...t.text].slice(0, 160).join('')}</div>
                <div class="meta">
                  {[t.fields.length ? `Asks for: ${t.fields.join(', ')}` : 'No fields',
                    Object.keys(t.variants).length ? `own text for ${Object.keys(t.variants).map((n) => providerName(networks, n)).join(', ')}` : '',
                    t.mediaIds.length ? `${t.mediaIds.length} file${t.mediaIds.length === 1 ? '' : 's'}` : ''].filter(Boolean).join(' · ')}
                </div>
              </div>
              {write && (
                <div class="row">
                  <Button small label={`Edit ${t.name}`} onClick={() => setEditing(t)}>Edit</Button>
                  <ConfirmButton small label="Delete" question={`Delete the template ${t.name}? Posts made from it stay.`} confirm="Delete template"
                    onConfirm={async () => { await api.del(wsPath(workspace, `/templates/${t.id}`)); toast.ok(`Template ${t.name} deleted.`); if (editing !== 'new' && editing?.id === t.id) setEditing(null); first.reload(); }} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show more templates</Button>}
      {write && (editing
        ? <TemplateForm key={editing === 'new' ? 'new' : editing.id} template={editing === 'new' ? null : editing} onDone={done} onCancel={() => setEditing(null)} />
        : <Button kind="primary" onClick={() => setEditing('new')}>New template</Button>)}
    </>
  );
}

function TemplateForm({ template, onDone, onCancel }: { template: Template | null; onDone: () => void; onCancel: () => void }) {
  const { workspace, networks } = useApp();
  const [name, setName] = useState(template?.name ?? '');
  const [personal, setPersonal] = useState(template?.personal ?? false);
  const [text, setText] = useState(template?.text ?? '');
  const [variants, setVariants] = useState<[string, string][]>(() => Object.entries(template?.variants ?? {}));
  const [mediaIds, setMediaIds] = useState<string[]>(template?.mediaIds ?? []);
  const [picking, setPicking] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const shown = ['body.name', 'body.text', 'body.personal', 'body.mediaIds', 'body.variants', ...variants.map(([n]) => `body.variants.${n}`)];
  const elsewhere = error && !Object.keys(errs).some((f) => shown.includes(f));
  const unused = networks.filter((n) => !variants.some(([id]) => id === n.id));
  const title = template ? `Edit ${template.name}` : 'New template';

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: TemplateBody = { name, text, variants: Object.fromEntries(variants), mediaIds };
      const saved = template
        ? await api.patch<Template>(wsPath(workspace, `/templates/${template.id}`), body)
        : await api.post<Template>(wsPath(workspace, '/templates'), { ...body, personal });
      toast.ok(`Template ${saved.name} saved.`);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form card" onSubmit={submit} noValidate aria-label={title}>
      <h2>{title}</h2>
      {elsewhere ? <ErrorNote error={error} /> : null}
      <Field label="Name" error={errs['body.name']}>{(p) => <input {...p} maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      {template ? <p class="meta">{template.personal ? 'Personal: only you see it.' : 'Shared with the workspace.'}</p> : (
        <div class="check">
          <input id="template-personal" type="checkbox" checked={personal} onChange={(e) => setPersonal(e.currentTarget.checked)} />
          <label for="template-personal">Personal: only I see and use it</label>
        </div>
      )}
      <Field label="Text" hint="Write {{field}} (lower-case letters, digits and _) where the composer should ask for something, e.g. {{product}}." error={errs['body.text']}>
        {(p) => <textarea {...p} rows={5} value={text} onInput={(e) => setText(e.currentTarget.value)} />}
      </Field>
      <fieldset>
        <legend>Text per network</legend>
        <p class="hint">Used instead of the text above for accounts of that network.</p>
        {errs['body.variants'] && <p class="field-error">{errs['body.variants']}</p>}
        {variants.map(([network, value], i) => (
          <div class="variant-row" key={i}>
            <Field label={`Network of text ${i + 1}`}>
              {(p) => (
                <select {...p} value={network} onChange={(e) => { const v = e.currentTarget.value; setVariants((xs) => xs.map((x, j) => (j === i ? [v, x[1]] : x))); }}>
                  {networks.filter((n) => n.id === network || !variants.some(([id]) => id === n.id)).map((n) => <option key={n.id} value={n.id}>{n.displayName}</option>)}
                </select>
              )}
            </Field>
            <Field label={`Text for ${providerName(networks, network)}`} error={errs[`body.variants.${network}`]}>
              {(p) => <textarea {...p} rows={3} value={value} onInput={(e) => { const v = e.currentTarget.value; setVariants((xs) => xs.map((x, j) => (j === i ? [x[0], v] : x))); }} />}
            </Field>
            <Button small kind="quiet" label={`Remove the text for ${providerName(networks, network)}`} onClick={() => setVariants((xs) => xs.filter((_, j) => j !== i))}>Remove</Button>
          </div>
        ))}
        {unused.length > 0 && <Button small onClick={() => setVariants((xs) => [...xs, [unused[0]!.id, '']])}>Add a text for a network</Button>}
      </fieldset>
      <fieldset>
        <legend>Files</legend>
        {errs['body.mediaIds'] && <p class="field-error">{errs['body.mediaIds']}</p>}
        {mediaIds.length > 0 && (
          <ul class="media-grid" aria-label="Files of the template">
            {mediaIds.map((id) => <MediaById key={id} id={id} onRemove={() => setMediaIds((xs) => xs.filter((x) => x !== id))} />)}
          </ul>
        )}
        <Button small onClick={() => setPicking(true)}>Choose from the library</Button>
        <MediaPicker open={picking} onClose={() => setPicking(false)} taken={mediaIds} onPick={(ms) => setMediaIds((xs) => [...xs, ...ms.map((m) => m.id)])} />
      </fieldset>
      <div class="row">
        <Submit busy={busy}>Save template</Submit>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}

// ---------- hashtag groups ----------

function HashtagGroups() {
  const { workspace, can } = useApp();
  const write = can('posts.write');
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const [editing, setEditing] = useState<HashtagGroup | 'new' | null>(null);
  const pages = usePages((cursor) => api.get<Paged<'items', HashtagGroup>>(wsPath(workspace, '/hashtag-groups'), { query: { limit: 30, cursor, q: query || undefined } }), [workspace.id, query]);
  const { first, items } = pages;
  const done = () => { setEditing(null); first.reload(); };
  return (
    <>
      <p>Sets of hashtags to put into a post in one go (the composer's "Hashtags" button). Shared ones are for everyone in the workspace; personal ones only for you.</p>
      <SearchBox label="Search hashtag groups by name" value={q} onInput={setQ} />
      <GroupList pages={{ error: first.error, loading: first.loading, loaded: !!first.data, reload: first.reload }} items={items} query={query} write={write} onEdit={setEditing} onDeleted={(g) => { if (editing !== 'new' && editing?.id === g.id) setEditing(null); first.reload(); }} />
      {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Show more groups</Button>}
      {write && (editing
        ? <GroupForm key={editing === 'new' ? 'new' : editing.id} group={editing === 'new' ? null : editing} onDone={done} onCancel={() => setEditing(null)} />
        : <Button kind="primary" onClick={() => setEditing('new')}>New hashtag group</Button>)}
    </>
  );
}

function GroupList({ pages, items, query, write, onEdit, onDeleted }: {
  pages: { error: unknown; loading: boolean; loaded: boolean; reload: () => void }; items: HashtagGroup[]; query: string; write: boolean; onEdit: (g: HashtagGroup) => void; onDeleted: (g: HashtagGroup) => void;
}) {
  const { workspace } = useApp();
  if (pages.error) return <ErrorNote error={pages.error} retry={pages.reload} />;
  if (pages.loading && !pages.loaded) return <Loading />;
  if (items.length === 0) return <Empty>{query ? 'No hashtag group has that in its name.' : 'No hashtag group yet.'}</Empty>;
  return (
    <ul class="list" aria-label="Hashtag groups">
      {items.map((g) => (
        <li key={g.id} class="list-item" aria-label={g.name}>
          <div class="grow">
            <strong>{g.name}</strong> <span class="meta">{g.personal ? 'Personal' : 'Shared'}</span>
            <div class="meta break">{g.hashtags.join(' ')}</div>
          </div>
          {write && (
            <div class="row">
              <Button small label={`Edit ${g.name}`} onClick={() => onEdit(g)}>Edit</Button>
              <ConfirmButton small label="Delete" question={`Delete the hashtag group ${g.name}?`} confirm="Delete group"
                onConfirm={async () => { await api.del(wsPath(workspace, `/hashtag-groups/${g.id}`)); toast.ok(`Hashtag group ${g.name} deleted.`); onDeleted(g); }} />
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

function GroupForm({ group, onDone, onCancel }: { group: HashtagGroup | null; onDone: () => void; onCancel: () => void }) {
  const { workspace } = useApp();
  const [name, setName] = useState(group?.name ?? '');
  const [personal, setPersonal] = useState(group?.personal ?? false);
  const [tags, setTags] = useState(group?.hashtags.join(' ') ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const tagsError = Object.entries(errs).find(([f]) => f === 'body.hashtags' || f.startsWith('body.hashtags['))?.[1];
  const elsewhere = error && !errs['body.name'] && !tagsError;
  const title = group ? `Edit ${group.name}` : 'New hashtag group';
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Spaces, commas or new lines between them; the server adds a missing # and drops repeats.
      const hashtags = tags.split(/[\s,]+/).filter(Boolean);
      const saved = group
        ? await api.patch<HashtagGroup>(wsPath(workspace, `/hashtag-groups/${group.id}`), { name, hashtags })
        : await api.post<HashtagGroup>(wsPath(workspace, '/hashtag-groups'), { name, hashtags, personal });
      toast.ok(`Hashtag group ${saved.name} saved.`);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form card" onSubmit={submit} noValidate aria-label={title}>
      <h2>{title}</h2>
      {elsewhere ? <ErrorNote error={error} /> : null}
      <Field label="Name" error={errs['body.name']}>{(p) => <input {...p} maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      {group ? <p class="meta">{group.personal ? 'Personal: only you see it.' : 'Shared with the workspace.'}</p> : (
        <div class="check">
          <input id="group-personal" type="checkbox" checked={personal} onChange={(e) => setPersonal(e.currentTarget.checked)} />
          <label for="group-personal">Personal: only I see and use it</label>
        </div>
      )}
      <Field label="Hashtags" hint="Separated by spaces or commas, with or without #: letters, digits and _ only." error={tagsError}>
        {(p) => <textarea {...p} rows={3} value={tags} onInput={(e) => setTags(e.currentTarget.value)} />}
      </Field>
      <div class="row">
        <Submit busy={busy}>Save hashtag group</Submit>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
