// The calendar, a week or a month of the workspace's posts in its time zone. A scheduled post is moved
// to another day by dragging it there (it keeps its time of day), or with its "Move" button, which
// asks for a date and a time: the keyboard way, the way to change the time too, and, for a post to
// several networks, the way to move one network alone (dragging moves them all).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { setQuery, useLocation } from '../router.ts';
import { addDays, dayLabel, excerpt, today, weekday, weekdayName } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { CalendarAnswer, CalendarItem } from '../types.ts';
import { Badge, Button, Dialog, ErrorNote, Field, Link, Loading, Page, Submit, toast, useAction, useLoad } from '../ui.tsx';
import { providerName } from './accounts.tsx';

const mondayOf = (day: string) => addDays(day, 1 - weekday(day));

function range(view: 'week' | 'month', anchor: string): { from: string; to: string; month?: string } {
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

export function Calendar() {
  const { workspace, zone, networks, can } = useApp();
  const loc = useLocation();
  const view = loc.search.get('view') === 'month' ? 'month' : 'week';
  const anchor = /^\d{4}-\d{2}-\d{2}$/.test(loc.search.get('date') ?? '') ? loc.search.get('date')! : today(zone);
  const { from, to, month } = range(view, anchor);
  const cal = useLoad(() => api.get<CalendarAnswer>(wsPath(workspace, '/calendar'), { query: { from, to, timeZone: zone } }), [workspace.id, from, to, zone]);
  const [run] = useAction();
  const [moving, setMoving] = useState<CalendarItem | null>(null);
  const [dragOver, setDragOver] = useState<string | null>(null);
  const mayMove = can('posts.write') && (!workspace.settings?.requireApproval || can('posts.approve'));
  const movable = (t: CalendarItem) => mayMove && t.state === 'scheduled';
  const todayStr = today(zone);

  const move = (item: CalendarItem, day: string, time = item.localTime, alone = false) => run(async () => {
    await api.post(wsPath(workspace, `/posts/${item.postId}/schedule`), { localTime: `${day}T${time}`, timeZone: zone, ...(alone ? { targetIds: [item.targetId] } : {}) });
    cal.reload();
    return true;
  }, `${alone ? `${providerName(networks, item.provider)} moved` : 'Moved'} to ${dayLabel(day, 'long')} at ${time}.`);

  const step = (n: number) => setQuery({ date: view === 'week' ? addDays(anchor, 7 * n) : (() => {
    const d = new Date(`${anchor.slice(0, 8)}01T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() + n);
    return d.toISOString().slice(0, 10);
  })() });
  const title = view === 'week'
    ? `Week of ${dayLabel(from, 'long')}`
    : new Date(`${month}-15T12:00:00Z`).toLocaleDateString(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });

  const days = cal.data?.days ?? [];
  return (
    <Page title="Calendar" actions={can('posts.write') ? <Link href="/compose" class="button button-primary">New post</Link> : undefined}>
      <div class="toolbar">
        <div class="row" role="group" aria-label="View">
          <button type="button" class="chip" aria-pressed={view === 'week'} onClick={() => setQuery({ view: undefined })}>Week</button>
          <button type="button" class="chip" aria-pressed={view === 'month'} onClick={() => setQuery({ view: 'month' })}>Month</button>
        </div>
        <div class="row" role="group" aria-label="Dates">
          <Button small onClick={() => step(-1)} label={`Previous ${view}`}>‹ Previous</Button>
          <Button small onClick={() => setQuery({ date: undefined })}>Today</Button>
          <Button small onClick={() => step(1)} label={`Next ${view}`}>Next ›</Button>
        </div>
      </div>
      <h2 class="calendar-title" aria-live="polite">{title} <span class="meta">({zone})</span></h2>
      {mayMove && <p class="hint" id="move-hint">Drag a scheduled post to another day, or use its Move button, to reschedule it.</p>}
      {cal.loading && !cal.data && <Loading />}
      {cal.error ? <ErrorNote error={cal.error} retry={cal.reload} /> : null}
      {cal.data && (
        <div class={`calendar calendar-${view}`}>
          {days.slice(0, 7).map((d) => <div key={`h${d.date}`} class="calendar-weekday" aria-hidden="true">{weekdayName(d.date)}</div>)}
          {days.map((d) => {
            const outside = month !== undefined && !d.date.startsWith(month);
            return (
              <section key={d.date} aria-label={dayLabel(d.date, 'long')} aria-current={d.date === todayStr ? 'date' : undefined}
                class={`calendar-day${outside ? ' outside' : ''}${d.date === todayStr ? ' today' : ''}${dragOver === d.date ? ' drop' : ''}`}
                data-date={d.date}
                onDragOver={(e) => {
                  if (!e.dataTransfer?.types.includes(DRAG_TYPE)) return;
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
                  if (item.at && d.date !== item.at) void move(item, d.date);
                }}>
                <h3 class="calendar-date"><span class="visually-hidden">{dayLabel(d.date, 'long')}</span><span aria-hidden="true">{Number(d.date.slice(8))}</span></h3>
                {d.targets.length > 0 && (
                  <ol class="calendar-items">
                    {d.targets.map((t) => (
                      <li key={t.targetId} class={`calendar-item state-${t.state}`} draggable={movable(t)}
                        aria-describedby={movable(t) ? 'move-hint' : undefined}
                        onDragStart={(e) => {
                          e.dataTransfer?.setData(DRAG_TYPE, JSON.stringify({ ...t, at: d.date }));
                          e.dataTransfer?.setData('text/plain', t.text);
                          if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
                        }}>
                        <Link href={`/posts/${t.postId}`} class="calendar-link" draggable={false}>
                          <span class="calendar-time">{t.localTime}</span> <span class="calendar-net">{providerName(networks, t.provider)}</span>
                          <span class="calendar-text">{excerpt(t.text, 60)}</span>
                        </Link>
                        <span class="calendar-foot">
                          <Badge state={t.state} />
                          {movable(t) && <button type="button" class="link-button" onClick={() => setMoving({ ...t, at: d.date })} aria-label={`Move the ${t.localTime} post “${excerpt(t.text, 40)}”`}>Move</button>}
                        </span>
                      </li>
                    ))}
                  </ol>
                )}
              </section>
            );
          })}
        </div>
      )}
      {cal.data && days.every((d) => d.targets.length === 0) && <p class="empty">Nothing is scheduled or published in this {view}.</p>}
      <MoveDialog item={moving} zone={zone} network={moving ? providerName(networks, moving.provider) : ''} onClose={() => setMoving(null)}
        onMove={async (day, time, alone) => { if (await move(moving!, day, time, alone)) setMoving(null); }} />
    </Page>
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
