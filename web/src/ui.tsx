// Shared pieces: links, toasts (announced through aria-live), loading / empty / error states, form
// fields with their labels and messages, dialogs (the native <dialog>, which keeps focus inside), and
// hooks that load data and run actions with their errors shown in words.
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';
import { onLinkClick } from './router.ts';
import { stateWord } from './format.ts';

export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return <a {...props} onClick={onLinkClick} />;
}

/** An external link (a published post, a network's page): new tab, no referrer. */
export function ExternalLink({ href, children }: { href: string; children: ComponentChildren }) {
  return <a href={href} target="_blank" rel="noopener noreferrer">{children}<span class="visually-hidden"> (opens in a new tab)</span></a>;
}

// ---------- toasts ----------

interface Toast { id: number; kind: 'ok' | 'error'; text: string }
let toasts: Toast[] = [];
let nextToast = 1;
const toastListeners = new Set<(t: Toast[]) => void>();
const emitToasts = () => { for (const l of toastListeners) l(toasts); };

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export const toast = {
  ok(text: string) { push('ok', text); },
  error(err: unknown) { push('error', messageOf(err)); },
};

function push(kind: Toast['kind'], text: string) {
  const t = { id: nextToast++, kind, text };
  toasts = [...toasts.slice(-3), t];
  emitToasts();
  setTimeout(() => dismiss(t.id), kind === 'error' ? 12_000 : 6_000);
}

function dismiss(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  emitToasts();
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => void toastListeners.delete(setList);
  }, []);
  const of = (kind: Toast['kind']) => list.filter((t) => t.kind === kind).map((t) => (
    <div class={`toast toast-${t.kind}`} key={t.id}>
      <span>{t.text}</span>
      <button type="button" class="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
    </div>
  ));
  // Two regions, present from the start so screen readers announce what is added to them.
  return (
    <div class="toasts">
      <div role="status" aria-live="polite">{of('ok')}</div>
      <div role="alert" aria-live="assertive">{of('error')}</div>
    </div>
  );
}

// ---------- states ----------

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return <p class="loading" role="status"><span class="spinner" aria-hidden="true" />{label}</p>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div class="error-note" role="alert">
      <p>{messageOf(error)}</p>
      {retry && <button type="button" class="button" onClick={retry}>Try again</button>}
    </div>
  );
}

export function Badge({ state }: { state: string }) {
  return <span class={`badge badge-${state}`}>{stateWord(state)}</span>;
}

// ---------- page ----------

export function Page({ title, actions, children, narrow }: { title: string; actions?: ComponentChildren; children: ComponentChildren; narrow?: boolean }) {
  useEffect(() => {
    document.title = `${title} · AllIN`;
  }, [title]);
  return (
    <section class={narrow ? 'page page-narrow' : 'page'} aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1}>{title}</h1>
        {actions && <div class="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

// ---------- data hooks ----------

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (d: T) => void;
}

/** Loads on mount and whenever deps change; an answer that arrives after a newer request is ignored. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const seq = useRef(0);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    fn().then(
      (data) => { if (mine === seq.current) setState({ data, error: undefined, loading: false }); },
      (error: unknown) => { if (mine === seq.current) setState((s) => ({ data: s.data, error, loading: false })); },
    );
    // Like useEffect's own, the caller's deps say when to load again; fn is that render's closure over them.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((data: T) => setState({ data, error: undefined, loading: false }), []);
  return { ...state, reload, setData };
}

/**
 * A keyset-paged list shown a page at a time: the first page (loaded again when `deps` change or on
 * reload), then each "show more" appends the next page, read with the previous page's nextCursor.
 */
export function usePages<T>(fetchPage: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>, deps: unknown[]) {
  const first = useLoad(() => fetchPage(), deps);
  const [more, setMore] = useState<{ items: T[]; nextCursor: string | null } | null>(null);
  useEffect(() => setMore(null), [first.data]);
  const [run, loadingMore] = useAction();
  const nextCursor = more ? more.nextCursor : first.data?.nextCursor ?? null;
  const items = [...(first.data?.items ?? []), ...(more?.items ?? [])];
  const loadMore = nextCursor === null ? null : () => run(async () => {
    const r = await fetchPage(nextCursor);
    setMore((m) => ({ items: [...(m?.items ?? []), ...r.items], nextCursor: r.nextCursor }));
  });
  return { first, items, loadMore, loadingMore };
}

/** Runs an action with a busy flag; its error is shown as a toast (and returned as undefined). */
export function useAction(): [<R>(fn: () => Promise<R>, ok?: string | ((r: R) => string | undefined)) => Promise<R | undefined>, boolean] {
  const [busy, setBusy] = useState(false);
  const run = useCallback(async <R,>(fn: () => Promise<R>, ok?: string | ((r: R) => string | undefined)) => {
    setBusy(true);
    try {
      const r = await fn();
      const text = typeof ok === 'function' ? ok(r) : ok;
      if (text) toast.ok(text);
      return r;
    } catch (err) {
      toast.error(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return [run, busy];
}

// ---------- forms ----------

/**
 * The API's refusal of a form, field by field (`body.utmCampaign` → its message), to show next to each field.
 * When one field is at fault the API's whole sentence is used (it says what to do), less the field's name.
 */
export function fieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError) || !Array.isArray(err.details)) return {};
  const list = (err.details as unknown[]).filter((d): d is { field: string; message: string } =>
    !!d && typeof (d as { field?: unknown }).field === 'string' && typeof (d as { message?: unknown }).message === 'string');
  const out: Record<string, string> = {};
  for (const d of list) out[d.field] ??= d.message;
  if (list.length === 1) {
    const f = list[0]!.field;
    const m = err.message.startsWith(f) ? err.message.slice(f.length).replace(/^[:\s]+/, '') : err.message;
    out[f] = m.charAt(0).toUpperCase() + m.slice(1);
  }
  return out;
}

export function Field({ label, hint, error, children, id }: { label: string; hint?: ComponentChildren; error?: string | undefined; id?: string; children: (p: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ComponentChildren }) {
  const auto = useId();
  const fid = id ?? `f${auto}`;
  const described = [hint ? `${fid}-hint` : '', error ? `${fid}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class={error ? 'field field-invalid' : 'field'}>
      <label for={fid}>{label}</label>
      {children({ id: fid, ...(described ? { 'aria-describedby': described } : {}), ...(error ? { 'aria-invalid': true } : {}) })}
      {hint && <p class="hint" id={`${fid}-hint`}>{hint}</p>}
      {error && <p class="field-error" id={`${fid}-error`}>{error}</p>}
    </div>
  );
}

export function Submit({ busy, children, kind = 'primary', disabled }: { busy?: boolean; children: ComponentChildren; kind?: 'primary' | 'secondary' | 'danger'; disabled?: boolean }) {
  return <button type="submit" class={`button button-${kind}`} disabled={busy || disabled} aria-busy={busy ? 'true' : undefined}>{children}</button>;
}

export function Button({ onClick, busy, children, kind = 'secondary', disabled, label, small }: {
  onClick: () => void; busy?: boolean; children: ComponentChildren; kind?: 'primary' | 'secondary' | 'danger' | 'quiet'; disabled?: boolean; label?: string; small?: boolean;
}) {
  return (
    <button type="button" class={`button button-${kind}${small ? ' button-small' : ''}`} onClick={onClick} disabled={busy || disabled}
      aria-busy={busy ? 'true' : undefined} aria-label={label}>
      {children}
    </button>
  );
}

/** A modal dialog: focus moves into it, Escape closes it, focus returns to where it was. */
export function Dialog({ open, title, onClose, children }: { open: boolean; title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby={`d${titleId}`} onClose={onClose} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      {open && (
        <div class="dialog-body">
          <header class="dialog-head">
            <h2 id={`d${titleId}`}>{title}</h2>
            <button type="button" class="icon-button" aria-label="Close" onClick={onClose}>×</button>
          </header>
          {children}
        </div>
      )}
    </dialog>
  );
}

/** A button that asks before doing something that cannot be undone. */
export function ConfirmButton({ label, question, confirm, onConfirm, kind = 'danger', small }: {
  label: string; question: string; confirm: string; onConfirm: () => Promise<unknown>; kind?: 'danger' | 'secondary'; small?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [run, busy] = useAction();
  return (
    <>
      <Button kind={kind} small={small} onClick={() => setOpen(true)}>{label}</Button>
      <Dialog open={open} title={label} onClose={() => setOpen(false)}>
        <p>{question}</p>
        <div class="row">
          <Button kind={kind === 'danger' ? 'danger' : 'primary'} busy={busy} onClick={async () => { await run(onConfirm); setOpen(false); }}>{confirm}</Button>
          <Button onClick={() => setOpen(false)}>Cancel</Button>
        </div>
      </Dialog>
    </>
  );
}

export function Avatar({ url, name }: { url: string | null; name: string }) {
  const [failed, setFailed] = useState(false);
  const initials = name.replace(/^@/, '').slice(0, 2).toUpperCase();
  if (!url || failed) return <span class="avatar" aria-hidden="true">{initials}</span>;
  return <img class="avatar" src={url} alt="" onError={() => setFailed(true)} />;
}
