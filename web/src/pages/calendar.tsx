// The calendar, a day, a week or a month of the workspace's posts in its time zone, for every account or
// one. A scheduled post is moved to another day by dragging it there (it keeps its time of day), or with
// its "Move" button, which asks for a date and a time: the keyboard way, the way to change the time too,
// and, for a post to several networks, the way to move one network alone (dragging moves them all).
//
// What a view renders follows the screen, not the workspace: a month cell shows its first few posts and a
// week column its first dozen or so (the API lists at most perDay per day and counts the rest), then
// "+N more", a link to that day's view, which lists the day a page at a time ("Load more", by the day's
// cursor). So an agency's day of hundreds of posts is a handful of nodes until someone asks for them.
import { useEffect, useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { setQuery, useLocation } from '../router.ts';
import { addDays, dayLabel, excerpt, today, weekday, weekdayName } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AccountList, CalendarAnswer, CalendarItem, Network } from '../types.ts';
import { Badge, Button, Dialog, ErrorNote, Field, Link, Loading, Page, Submit, toast, useAction, useLoad, usePages } from '../ui.tsx';
import { providerName } from './accounts.tsx';

type View = 'day' | 'week' | 'month';

/** Targets listed per day: a month cell has room for a few, a week column for more; the rest is "+N more". */
const PER_DAY = { week: 12, month: 4 } as const;
/** One page of a day's own view. */
const DAY_PAGE = 50;

const mondayOf = (day: string) => addDays(day, 1 - weekday(day));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function range(view: View, anchor: string): { from: string; to: string; month?: string } {
  if (view === 'day') return { from: anchor, to: anchor };
  if (view === 'week') {
    const from = mondayOf(anchor);
    return { from, to: addDays(from, 6) };
  }
  const first = `${anchor.slice(0, 8)}01`;
  const nextMonth = new Date(`${first}T00:00:00Z`);
  nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1);
  const last = addDays(nextMonth.toISOString().slice(0, 10), -1);
  return { from: mondayOf(first), to: addDays(mondayOf(last), 6), month: anchor.slice(0, 7) };
}

const DRAG_TYPE = 'application/x-allin-post';

/** The address of one day's view, keeping the account filter. */
function dayHref(date: string, account: string): string {
  const q = new URLSearchParams({ view: 'day', date });
  if (account) q.set('account', account);
  return `/calendar?${q}`;
}

export function Calendar() {
  const { workspace, zone, networks, can } = useApp();
  const loc = useLocation();
  const asked = loc.search.get('view');
  const view: View = asked === 'month' || asked === 'day' ? asked : 'week';
  const anchor = /^\d{4}-\d{2}-\d{2}$/.test(loc.search.get('date') ?? '') ? loc.search.get('date')! : today(zone);
  // An account id that is not one (an edited address) would only earn a 400: it is ignored instead.
  const account = UUID.test(loc.search.get('account') ?? '') ? loc.search.get('account')! : '';
  const { from, to, month } = range(view, anchor);
  const accounts = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  // Bumped after a move: the view shown loads again.
  const [version, setVersion] = useState(0);
  const [run] = useAction();
  const [moving, setMoving] = useState<CalendarItem | null>(null);
  const mayMove = can('posts.write') && (!workspace.settings?.requireApproval || can('posts.approve'));
  const movable = (t: CalendarItem) => mayMove && t.state === 'scheduled';

  const move = (item: CalendarItem, day: string, time = item.localTime, alone = false) => run(async () => {
    await api.post(wsPath(workspace, `/posts/${item.postId}/schedule`), { localTime: `${day}T${time}`, timeZone: zone, ...(alone ? { targetIds: [item.targetId] } : {}) });
    setVersion((v) => v + 1);
    return true;
  }, `${alone ? `${providerName(networks, item.provider)} moved` : 'Moved'} to ${dayLabel(day, 'long')} at ${time}.`);

  const step = (n: number) => setQuery({ date: view === 'day' ? addDays(anchor, n) : view === 'week' ? addDays(anchor, 7 * n) : (() => {
    const d = new Date(`${anchor.slice(0, 8)}01T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() + n);
    return d.toISOString().slice(0, 10);
  })() });
  const title = view === 'day' ? dayLabel(anchor, 'long')
    : view === 'week' ? `Week of ${dayLabel(from, 'long')}`
      : new Date(`${month}-15T12:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const entry = { networks, movable, onAskMove: setMoving };

  return (
    <Page title="Calendar" actions={can('posts.write') ? <Link href="/compose" class="button button-primary">New post</Link> : undefined}>
      <div class="toolbar">
        <div class="row" role="group" aria-label="View">
          <button type="button" class="chip" aria-pressed={view === 'day'} onClick={() => setQuery({ view: 'day' })}>Day</button>
          <button type="button" class="chip" aria-pressed={view === 'week'} onClick={() => setQuery({ view: undefined })}>Week</button>
          <button type="button" class="chip" aria-pressed={view === 'month'} onClick={() => setQuery({ view: 'month' })}>Month</button>
        </div>
        <div class="row">
          <label class="label" for="calendar-account">Account</label>
          <select id="calendar-account" value={account} onChange={(e) => setQuery({ account: e.currentTarget.value || undefined })}>
            <option value="">All accounts</option>
            {(accounts.data?.accounts ?? []).map((a) => <option key={a.id} value={a.id}>{providerName(networks, a.provider)} · {a.username}</option>)}
          </select>
        </div>
        <div class="row" role="group" aria-label="Dates">
          <Button small onClick={() => step(-1)} label={`Previous ${view}`}>‹ Previous</Button>
          <Button small onClick={() => setQuery({ date: undefined })}>Today</Button>
          <Button small onClick={() => step(1)} label={`Next ${view}`}>Next ›</Button>
        </div>
      </div>
      <h2 class="calendar-title" aria-live="polite">{title} <span class="meta">({zone})</span></h2>
      {mayMove && <p class="hint" id="move-hint">{view === 'day' ? 'Use a post\'s Move button to reschedule it.' : 'Drag a scheduled post to another day, or use its Move button, to reschedule it.'}</p>}
      {view === 'day'
        ? <DayView day={anchor} account={account} version={version} entry={entry} />
        : <Grid view={view} from={from} to={to} month={month} account={account} version={version} entry={entry} mayDrop={mayMove} onDrop={(item, day) => void move(item, day)} />}
      <MoveDialog item={moving} zone={zone} network={moving ? providerName(networks, moving.provider) : ''} onClose={() => setMoving(null)}
        onMove={async (day, time, alone) => { if (await move(moving!, day, time, alone)) setMoving(null); }} />
    </Page>
  );
}

interface EntryProps {
  networks: Network[];
  movable: (t: CalendarItem) => boolean;
  onAskMove: (t: CalendarItem) => void;
}

/** One target: its time, network and text (a link to its post), its state, and Move when it may move. */
function Entry({ t, date, draggable, networks, movable, onAskMove }: EntryProps & { t: CalendarItem; date: string; draggable: boolean }) {
  const canMove = movable(t);
  return (
    <li class={`calendar-item state-${t.state}`} draggable={draggable && canMove}
      aria-describedby={canMove ? 'move-hint' : undefined}
      onDragStart={(e) => {
        e.dataTransfer?.setData(DRAG_TYPE, JSON.stringify({ ...t, at: date }));
        e.dataTransfer?.setData('text/plain', t.text);
        if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
      }}>
      <Link href={`/posts/${t.postId}`} class="calendar-link" draggable={false}>
        <span class="calendar-time">{t.localTime}</span> <span class="calendar-net">{providerName(networks, t.provider)}</span>
        <span class="calendar-text">{excerpt(t.text, 60)}</span>
      </Link>
      <span class="calendar-foot">
        <Badge state={t.state} />
        {canMove && <button type="button" class="link-button" onClick={() => onAskMove({ ...t, at: date })} aria-label={`Move the ${t.localTime} post “${excerpt(t.text, 40)}”`}>Move</button>}
      </span>
    </li>
  );
}

/** A week or a month: each day's first few targets, "+N more" for the rest, and drop targets for moves. */
function Grid({ view, from, to, month, account, version, entry, mayDrop, onDrop }: {
  view: 'week' | 'month'; from: string; to: string; month: string | undefined; account: string; version: number;
  entry: EntryProps; mayDrop: boolean; onDrop: (item: CalendarItem, day: string) => void;
}) {
  const { workspace, zone } = useApp();
  const cal = useLoad(() => api.get<CalendarAnswer>(wsPath(workspace, '/calendar'), {
    query: { from, to, timeZone: zone, perDay: PER_DAY[view], accountId: account || undefined },
  }), [workspace.id, from, to, zone, view, account, version]);
  const [dragOver, setDragOver] = useState<string | null>(null);
  const todayStr = today(zone);
  const days = cal.data?.days ?? [];
  return (
    <>
      {cal.loading && !cal.data && <Loading />}
      {cal.error ? <ErrorNote error={cal.error} retry={cal.reload} /> : null}
      {cal.data && (
        <div class={`calendar calendar-${view}`}>
          {days.slice(0, 7).map((d) => <div key={`h${d.date}`} class="calendar-weekday" aria-hidden="true">{weekdayName(d.date)}</div>)}
          {days.map((d) => {
            const outside = month !== undefined && !d.date.startsWith(month);
            const more = d.total - d.targets.length;
            return (
              <section key={d.date} aria-label={dayLabel(d.date, 'long')} aria-current={d.date === todayStr ? 'date' : undefined}
                class={`calendar-day${outside ? ' outside' : ''}${d.date === todayStr ? ' today' : ''}${dragOver === d.date ? ' drop' : ''}`}
                data-date={d.date}
                onDragOver={(e) => {
                  if (!mayDrop || !e.dataTransfer?.types.includes(DRAG_TYPE)) return;
                  e.preventDefault();
                  e.dataTransfer.dropEffect = 'move';
                  setDragOver(d.date);
                }}
                onDragLeave={() => setDragOver((x) => (x === d.date ? null : x))}
                onDrop={(e) => {
                  e.preventDefault();
                  setDragOver(null);
                  const raw = e.dataTransfer?.getData(DRAG_TYPE);
                  if (!raw) return;
                  const item = JSON.parse(raw) as CalendarItem;
                  if (item.at && d.date !== item.at) onDrop(item, d.date);
                }}>
                <h3 class="calendar-date"><span class="visually-hidden">{dayLabel(d.date, 'long')}</span><span aria-hidden="true">{Number(d.date.slice(8))}</span></h3>
                {d.targets.length > 0 && (
                  <ol class="calendar-items">
                    {d.targets.map((t) => <Entry key={t.targetId} t={t} date={d.date} draggable {...entry} />)}
                  </ol>
                )}
                {more > 0 && (
                  <Link href={dayHref(d.date, account)} class="calendar-more">
                    +{more} more<span class="visually-hidden"> on {dayLabel(d.date, 'long')}</span>
                  </Link>
                )}
              </section>
            );
          })}
        </div>
      )}
      {cal.data && days.every((d) => d.total === 0) && <p class="empty">Nothing is scheduled or published in this {view}.</p>}
    </>
  );
}

/** One day, every target in time order, a page at a time by the day's cursor. */
function DayView({ day, account, version, entry }: { day: string; account: string; version: number; entry: EntryProps }) {
  const { workspace, zone } = useApp();
  const [total, setTotal] = useState<number | null>(null);
  const pages = usePages(async (cursor) => {
    const r = await api.get<CalendarAnswer>(wsPath(workspace, '/calendar'), {
      query: { from: day, to: day, timeZone: zone, perDay: DAY_PAGE, accountId: account || undefined, cursor },
    });
    const d = r.days[0];
    // The newest count wins: posts may be added or moved while the day is paged.
    setTotal(d?.total ?? 0);
    return { items: d?.targets ?? [], nextCursor: d?.nextCursor ?? null };
  }, [workspace.id, day, zone, account, version]);
  const { first, items } = pages;
  return (
    <>
      {first.loading && !first.data && <Loading />}
      {first.error ? <ErrorNote error={first.error} retry={first.reload} /> : null}
      {first.data && items.length > 0 && (
        <section class="calendar-day-view" aria-label={dayLabel(day, 'long')} data-date={day}>
          <p class="meta" role="status">Showing {items.length} of {Math.max(total ?? 0, items.length)}.</p>
          <ol class="calendar-items">
            {items.map((t) => <Entry key={t.targetId} t={t} date={day} draggable={false} {...entry} />)}
          </ol>
          {pages.loadMore && <Button busy={pages.loadingMore} onClick={pages.loadMore}>Load more</Button>}
        </section>
      )}
      {first.data && items.length === 0 && <p class="empty">Nothing is scheduled or published on this day.</p>}
    </>
  );
}

function MoveDialog({ item, zone, network, onClose, onMove }: {
  item: CalendarItem | null; zone: string; network: string; onClose: () => void; onMove: (day: string, time: string, alone: boolean) => Promise<void>;
}) {
  const [day, setDay] = useState('');
  const [time, setTime] = useState('');
  const [alone, setAlone] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!item) return;
    setDay(item.at);
    setTime(item.localTime);
    setAlone(false);
  }, [item]);
  const several = (item?.networks ?? 1) > 1;
  return (
    <Dialog open={!!item} title="Move post" onClose={onClose}>
      {item && (
        <form class="form" onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try { await onMove(day, time, several && alone); } catch (err) { toast.error(err); } finally { setBusy(false); }
        }}>
          <p class="meta">“{excerpt(item.text, 80)}”. {several ? `This post goes to ${item.networks} networks.` : ''} Times are in {zone}.</p>
          {several && (
            <fieldset class="choices">
              <legend>What moves</legend>
              <span><input type="radio" name="move-scope" id="move-all" checked={!alone} onChange={() => setAlone(false)} /><label for="move-all">Every network of this post</label></span>
              <span><input type="radio" name="move-scope" id="move-one" checked={alone} onChange={() => setAlone(true)} /><label for="move-one">Only {network}</label></span>
            </fieldset>
          )}
          <Field label="New date">{(p) => <input {...p} type="date" required value={day} onInput={(e) => setDay(e.currentTarget.value)} />}</Field>
          <Field label="New time">{(p) => <input {...p} type="time" required value={time} onInput={(e) => setTime(e.currentTarget.value)} />}</Field>
          <div class="row"><Submit busy={busy}>Move</Submit><Button onClick={onClose}>Cancel</Button></div>
        </form>
      )}
    </Dialog>
  );
}
