// What the composer (and the template form) pick from the workspace's reusable content: a template, whose
// {{fields}} are asked for and filled in by the server (POST …/templates/{id}/render), a hashtag group, and
// files of the media library. Each is a dialog over a list read a page at a time, narrowed by a search that
// the server runs (`q`), so a long library is never loaded whole.
import { useEffect, useState } from 'preact/hooks';
import { api, blobUrl } from '../api.ts';
import { bytes } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { HashtagGroup, Media, MediaPage, Paged, RenderedTemplate, Template } from '../types.ts';
import { Button, Dialog, Empty, ErrorNote, Field, fieldErrors, Loading, Submit, usePages } from '../ui.tsx';

/** A value that follows `value` once it has stopped changing for a moment (a search box's query). */
export function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

export function SearchBox({ label, value, onInput }: { label: string; value: string; onInput: (v: string) => void }) {
  return (
    <Field label={label}>
      {(p) => <input {...p} type="search" value={value} onInput={(e) => onInput(e.currentTarget.value)} />}
    </Field>
  );
}

/** "1:05" for a video's length. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** What a file is, in a line: type, size, picture size or length. */
export function mediaFacts(m: Media): string {
  const kind = m.mimeType.startsWith('video/') ? 'Video' : 'Image';
  const size = m.width && m.height ? ` · ${m.width} × ${m.height}` : '';
  const length = m.durationSeconds != null ? ` · ${duration(m.durationSeconds)}` : '';
  return `${kind} · ${bytes(m.bytes)}${size}${length}`;
}

/**
 * A file's server-made thumbnail (fetched with the session's token: an <img> cannot send it). Videos have no
 * poster frame (docs/MEDIA.md) and images whose thumbnail is not made yet show a placeholder that says so.
 */
export function MediaThumb({ media: m }: { media: Media }) {
  const [src, setSrc] = useState<string | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  const url = m.thumbnailUrl;
  useEffect(() => {
    if (!url) return;
    const ctl = new AbortController();
    let made: string | undefined;
    blobUrl(url, ctl.signal).then((u) => { made = u; setSrc(u); }, () => { if (!ctl.signal.aborted) setFailed(true); });
    return () => { ctl.abort(); if (made) URL.revokeObjectURL(made); };
  }, [url]);
  if (src) return <img class="thumb" src={src} alt={m.altText || `Thumbnail of ${m.fileName}`} />;
  // On its way: an empty frame, not a word that would be read out and then replaced.
  if (url && !failed) return <div class="thumb thumb-empty" aria-hidden="true" />;
  const word = m.mimeType.startsWith('video/') ? `Video${m.durationSeconds != null ? ` ${duration(m.durationSeconds)}` : ''}`
    : m.previews === 'pending' ? 'Preview being made' : m.previews === 'failed' ? 'No preview' : 'Image';
  return <div class="thumb thumb-empty thumb-word" role="img" aria-label={`${word}: ${m.fileName}`}><span aria-hidden="true">{word}</span></div>;
}

/** Files of the library to add: ticked in a grid, added together. `taken`: ids already in the post. */
export function MediaPicker({ open, onClose, onPick, taken }: { open: boolean; onClose: () => void; onPick: (media: Media[]) => void; taken: string[] }) {
  return (
    <Dialog open={open} title="Choose from the library" onClose={onClose}>
      {open && <MediaPickerBody onClose={onClose} onPick={onPick} taken={taken} />}
    </Dialog>
  );
}

function MediaPickerBody({ onClose, onPick, taken }: { onClose: () => void; onPick: (media: Media[]) => void; taken: string[] }) {
  const { workspace } = useApp();
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const [chosen, setChosen] = useState<Media[]>([]);
  const pages = usePages(async (cursor) => {
    const r = await api.get<MediaPage>(wsPath(workspace, '/media'), { query: { limit: 24, cursor, q: query || undefined } });
    return { items: r.media, nextCursor: r.nextCursor };
  }, [workspace.id, query]);
  const toggle = (m: Media, on: boolean) => setChosen((c) => (on ? [...c, m] : c.filter((x) => x.id !== m.id)));
  return (
    <div class="picker">
      <SearchBox label="Search by file name or alt text" value={q} onInput={setQ} />
      {pages.first.error ? <ErrorNote error={pages.first.error} retry={pages.first.reload} /> : null}
      {pages.first.loading && !pages.first.data && <Loading />}
      {pages.first.data && pages.items.length === 0 && <Empty>{query ? 'No file matches.' : 'The library is empty: upload files in the composer or on the Library screen.'}</Empty>}
      {pages.items.length > 0 && (
        <ul class="media-grid" aria-label="Files of the library">
          {pages.items.map((m) => {
            const already = taken.includes(m.id);
            return (
              <li key={m.id} class="media-cell">
                <MediaThumb media={m} />
                <div class="check">
                  <input type="checkbox" id={`pick-${m.id}`} disabled={already} checked={already || chosen.some((c) => c.id === m.id)} onChange={(e) => toggle(m, e.currentTarget.checked)} />
                  <label for={`pick-${m.id}`} class="break">{m.fileName}{already ? ' (already added)' : ''}</label>
                </div>
                <span class="meta">{mediaFacts(m)}</span>
              </li>
            );
          })}
        </ul>
      )}
      {pages.loadMore && <Button small busy={pages.loadingMore} onClick={pages.loadMore}>Show more files</Button>}
      <div class="row">
        <Button kind="primary" disabled={chosen.length === 0} onClick={() => { onPick(chosen); onClose(); }}>
          {chosen.length === 0 ? 'Add files' : `Add ${chosen.length} file${chosen.length === 1 ? '' : 's'}`}
        </Button>
        <Button onClick={onClose}>Cancel</Button>
      </div>
    </div>
  );
}

/** A template chosen, its fields asked for, rendered by the server: `onUse` gets the filled-in texts and files. */
export function TemplatePicker({ open, onClose, onUse, replaces }: { open: boolean; onClose: () => void; onUse: (r: RenderedTemplate, t: Template) => void; replaces: boolean }) {
  return (
    <Dialog open={open} title="Insert a template" onClose={onClose}>
      {open && <TemplatePickerBody onClose={onClose} onUse={onUse} replaces={replaces} />}
    </Dialog>
  );
}

function TemplatePickerBody({ onClose, onUse, replaces }: { onClose: () => void; onUse: (r: RenderedTemplate, t: Template) => void; replaces: boolean }) {
  const { workspace } = useApp();
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const [chosen, setChosen] = useState<Template | null>(null);
  const pages = usePages((cursor) => api.get<Paged<'items', Template>>(wsPath(workspace, '/templates'), { query: { limit: 20, cursor, q: query || undefined } }), [workspace.id, query]);
  if (chosen) return <TemplateFields template={chosen} onBack={() => setChosen(null)} onUse={(r) => { onUse(r, chosen); onClose(); }} replaces={replaces} />;
  return (
    <div class="picker">
      <SearchBox label="Search templates by name" value={q} onInput={setQ} />
      {pages.first.error ? <ErrorNote error={pages.first.error} retry={pages.first.reload} /> : null}
      {pages.first.loading && !pages.first.data && <Loading />}
      {pages.first.data && pages.items.length === 0 && <Empty>{query ? 'No template has that in its name.' : 'No template yet: add them in Library › Templates.'}</Empty>}
      {pages.items.length > 0 && (
        <ul class="list" aria-label="Templates">
          {pages.items.map((t) => (
            <li key={t.id} class="list-item">
              <div class="grow">
                <strong>{t.name}</strong> <span class="meta">{t.personal ? 'Personal' : 'Shared'}</span>
                <div class="meta break">{[...t.text].slice(0, 120).join('')}</div>
                {t.fields.length > 0 && <div class="meta">Asks for: {t.fields.join(', ')}</div>}
              </div>
              <Button small label={`Use ${t.name}`} onClick={() => setChosen(t)}>Use</Button>
            </li>
          ))}
        </ul>
      )}
      {pages.loadMore && <Button small busy={pages.loadingMore} onClick={pages.loadMore}>Show more templates</Button>}
    </div>
  );
}

function TemplateFields({ template: t, onBack, onUse, replaces }: { template: Template; onBack: () => void; onUse: (r: RenderedTemplate) => void; replaces: boolean }) {
  const { workspace } = useApp();
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(t.fields.map((f) => [f, ''])));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const errs = fieldErrors(error);
  const elsewhere = error && !Object.keys(errs).some((f) => f.startsWith('body.values.'));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // The server fills the fields in (and refuses the missing ones): the composer gets exactly what the API would.
      onUse(await api.post<RenderedTemplate>(wsPath(workspace, `/templates/${t.id}/render`), { values }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form" onSubmit={submit} noValidate aria-label={`Fields of ${t.name}`}>
      <p><strong>{t.name}</strong></p>
      <p class="meta break">{t.text}</p>
      {elsewhere ? <ErrorNote error={error} /> : null}
      {t.fields.map((f) => (
        <Field key={f} label={f.replace(/_/g, ' ')} hint={`Fills {{${f}}}.`} error={errs[`body.values.${f}`]}>
          {(p) => <input {...p} maxLength={1000} value={values[f] ?? ''} onInput={(e) => { const v = e.currentTarget.value; setValues((x) => ({ ...x, [f]: v })); }} />}
        </Field>
      ))}
      {replaces && <p class="hint">The template's text replaces the text written so far.</p>}
      <div class="row">
        <Submit busy={busy}>Insert</Submit>
        <Button onClick={onBack}>Back to the templates</Button>
      </div>
    </form>
  );
}

/** A hashtag group chosen to insert (where the cursor was). */
export function HashtagPicker({ open, onClose, onUse }: { open: boolean; onClose: () => void; onUse: (g: HashtagGroup) => void }) {
  return (
    <Dialog open={open} title="Insert hashtags" onClose={onClose}>
      {open && <HashtagPickerBody onClose={onClose} onUse={onUse} />}
    </Dialog>
  );
}

function HashtagPickerBody({ onClose, onUse }: { onClose: () => void; onUse: (g: HashtagGroup) => void }) {
  const { workspace } = useApp();
  const [q, setQ] = useState('');
  const query = useSettled(q.trim());
  const pages = usePages((cursor) => api.get<Paged<'items', HashtagGroup>>(wsPath(workspace, '/hashtag-groups'), { query: { limit: 20, cursor, q: query || undefined } }), [workspace.id, query]);
  return (
    <div class="picker">
      <SearchBox label="Search hashtag groups by name" value={q} onInput={setQ} />
      {pages.first.error ? <ErrorNote error={pages.first.error} retry={pages.first.reload} /> : null}
      {pages.first.loading && !pages.first.data && <Loading />}
      {pages.first.data && pages.items.length === 0 && <Empty>{query ? 'No hashtag group has that in its name.' : 'No hashtag group yet: add them in Library › Hashtag groups.'}</Empty>}
      {pages.items.length > 0 && (
        <ul class="list" aria-label="Hashtag groups">
          {pages.items.map((g) => (
            <li key={g.id} class="list-item">
              <div class="grow">
                <strong>{g.name}</strong> <span class="meta">{g.personal ? 'Personal' : 'Shared'}</span>
                <div class="meta break">{g.hashtags.join(' ')}</div>
              </div>
              <Button small label={`Insert ${g.name}`} onClick={() => { onUse(g); onClose(); }}>Insert</Button>
            </li>
          ))}
        </ul>
      )}
      {pages.loadMore && <Button small busy={pages.loadingMore} onClick={pages.loadMore}>Show more groups</Button>}
    </div>
  );
}

/** `words` put into `text` at [start, end), with a space on each side where the text has none. */
export function insertAt(text: string, start: number, end: number, words: string): { text: string; caret: number } {
  const before = text.slice(0, start);
  const after = text.slice(end);
  const lead = before === '' || /\s$/.test(before) ? '' : ' ';
  const trail = after === '' || /^\s/.test(after) ? '' : ' ';
  const inserted = `${lead}${words}${trail}`;
  return { text: before + inserted + after, caret: before.length + inserted.length };
}
