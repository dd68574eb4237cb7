// The analytics charts, drawn as SVG by hand: a time chart (bars or lines over days or hours) and a weekday ×
// hour heatmap. A charting library would be heavier than the job (uPlot, the smallest well-kept one, is ~50 KB
// minified and draws on a canvas, so its points are neither focusable nor read out, and it has no heatmap).
// Every chart has axes with units, a tooltip on hover and on the arrow keys (announced), and the numbers
// behind it as a table under a "Show numbers" toggle: the text alternative.
import type { ComponentChildren } from 'preact';
import { useId, useState } from 'preact/hooks';

const W = 640;
const H = 240;
const PAD = { left: 56, right: 12, top: 12, bottom: 30 };

export const num = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined ? '—' : n.toLocaleString(undefined, { maximumFractionDigits: digits });
const compact = (n: number) => n.toLocaleString(undefined, { notation: 'compact', maximumFractionDigits: 1 });

/** Round steps (1, 2, 5 × 10ⁿ) covering lo…hi, about `count` of them (lo itself rounded down to a step). */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return niceTicks(Math.max(0, lo - 1), lo + 1, count);
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.floor(lo / step) * step; ticks.length < 12; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= hi) break;
  }
  return ticks;
}

/** A chart's frame: its title, the chart, and the table of its numbers behind a toggle. */
export function ChartFrame({ title, note, table, children }: { title: string; note?: ComponentChildren; table: ComponentChildren; children: ComponentChildren }) {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <figure class="chart card" aria-labelledby={`c${id}`}>
      <div class="chart-head">
        <h3 id={`c${id}`}>{title}</h3>
        <button type="button" class="button button-quiet button-small" aria-expanded={open} aria-controls={`t${id}`} onClick={() => setOpen(!open)}>
          {open ? 'Hide numbers' : 'Show numbers'}
        </button>
      </div>
      {note && <p class="hint">{note}</p>}
      {children}
      <div id={`t${id}`} hidden={!open} class="chart-numbers">{open && table}</div>
    </figure>
  );
}

export interface Series { name: string; values: (number | null)[] }

/**
 * Bars (grouped when several series) or lines over a run of labelled steps (days, hours). `unit` names what the
 * y axis counts; `refLine` draws a dashed horizontal line (a median to compare with).
 */
export function TimeChart({ labels, series, kind, unit, xTitle, refLine, describe, fromZero = true }: {
  labels: string[]; series: Series[]; kind: 'bar' | 'line'; unit: string; xTitle: string;
  refLine?: { value: number; name: string } | null; describe: string;
  /** false: a line's axis starts at a round step below its lowest point (followers: thousands that grow by tens). */
  fromZero?: boolean;
}) {
  const [active, setActive] = useState<number | null>(null);
  const n = labels.length;
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const all = refLine ? [...values, refLine.value] : values;
  const ticks = niceTicks(kind === 'bar' || fromZero || all.length === 0 ? Math.min(0, ...all) : Math.min(...all), Math.max(0, ...all));
  const lo = ticks[0]!;
  const hi = ticks.at(-1)!;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const band = plotW / Math.max(1, n);
  const x = (i: number) => PAD.left + band * i + band / 2;
  const y = (v: number) => PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;
  const every = Math.max(1, Math.ceil(n / 7));

  const at = (clientX: number, el: SVGSVGElement) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    const vx = ((clientX - r.left) / r.width) * W;
    setActive(Math.max(0, Math.min(n - 1, Math.floor((vx - PAD.left) / band))));
  };
  const onKey = (e: KeyboardEvent) => {
    const next = { ArrowRight: (active ?? -1) + 1, ArrowLeft: (active ?? n) - 1, Home: 0, End: n - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    setActive(Math.max(0, Math.min(n - 1, next)));
  };

  return (
    <div class="chart-plot">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${describe} Use the arrow keys for each ${xTitle.toLowerCase()}'s figures, or show the numbers.`}
        tabIndex={0} class="chart-svg" onPointerMove={(e) => at(e.clientX, e.currentTarget)} onPointerLeave={() => setActive(null)}
        onKeyDown={onKey} onBlur={() => setActive(null)}>
        {ticks.map((t) => (
          <g key={t} class="chart-gridline">
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
            <text x={PAD.left - 6} y={y(t)} dy="0.32em" text-anchor="end">{compact(t)}</text>
          </g>
        ))}
        <text class="chart-axis-title" x={12} y={PAD.top + plotH / 2} transform={`rotate(-90 12 ${PAD.top + plotH / 2})`} text-anchor="middle">{unit}</text>
        {labels.map((l, i) => (i % every === 0 ? <text key={l} class="chart-tick" x={x(i)} y={H - 10} text-anchor="middle">{l}</text> : null))}
        {active !== null && <rect class="chart-hover" x={PAD.left + band * active} y={PAD.top} width={band} height={plotH} />}
        {kind === 'bar'
          ? series.map((s, si) => (
            <g key={s.name} class={`chart-bars series-${si % 6}`}>
              {s.values.map((v, i) => (v === null || v === 0 ? null : (
                <rect key={i} x={x(i) - band * 0.4 + (band * 0.8 / series.length) * si} width={band * 0.8 / series.length} y={Math.min(y(v), y(0))} height={Math.abs(y(0) - y(v))} />
              )))}
            </g>
          ))
          : series.map((s, si) => (
            <g key={s.name} class={`chart-series series-${si % 6}`}>
              <path d={linePath(s.values, x, y)} />
              {n <= 60 && s.values.map((v, i) => (v === null ? null : <circle key={i} cx={x(i)} cy={y(v)} r={active === i ? 4 : 2.5} />))}
            </g>
          ))}
        {refLine && (
          <g class="chart-ref">
            <line x1={PAD.left} x2={W - PAD.right} y1={y(refLine.value)} y2={y(refLine.value)} />
            <text x={W - PAD.right} y={y(refLine.value) - 4} text-anchor="end">{refLine.name}</text>
          </g>
        )}
        <line class="chart-axis" x1={PAD.left} x2={W - PAD.right} y1={y(lo)} y2={y(lo)} />
      </svg>
      <div class="chart-tooltip" aria-live="polite" hidden={active === null}>
        {active !== null && (
          <>
            <strong>{labels[active]}</strong>
            {series.map((s, si) => <div key={s.name}>{series.length > 1 && <span class={`swatch series-${si % 6}`} aria-hidden="true" />}{s.name}: {num(s.values[active], 2)} {unit}</div>)}
            {refLine && <div>{refLine.name}: {num(refLine.value, 2)}</div>}
          </>
        )}
      </div>
      {series.length > 1 && (
        <ul class="chart-legend">
          {series.map((s, si) => <li key={s.name}><span class={`swatch series-${si % 6}`} aria-hidden="true" />{s.name}</li>)}
        </ul>
      )}
    </div>
  );
}

function linePath(values: (number | null)[], x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

export const WEEKDAY_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export interface HeatCell {
  /** What colours the cell; null: nothing to show (no posts, or too few to say). */
  value: number | null;
  /** The tooltip's words for the cell. */
  text: string;
}

/** Weekday (ISO, 1 = Monday) × hour of the day: `cell(weekday, hour)`. */
export function Heatmap({ cell, describe }: { cell: (weekday: number, hour: number) => HeatCell; describe: string }) {
  const [active, setActive] = useState<[number, number] | null>(null);
  const left = 40;
  const top = 4;
  const cw = (W - left - PAD.right) / 24;
  const ch = 24;
  const h = top + ch * 7 + 22;
  const cells = Array.from({ length: 7 }, (_, w) => Array.from({ length: 24 }, (_, hr) => cell(w + 1, hr)));
  const max = Math.max(0, ...cells.flat().map((c) => c.value ?? 0));
  const onKey = (e: KeyboardEvent) => {
    const [w, hr] = active ?? [0, -1];
    const moves: Record<string, [number, number]> = { ArrowRight: [w, hr + 1], ArrowLeft: [w, hr - 1], ArrowDown: [w + 1, hr], ArrowUp: [w - 1, hr], Home: [w, 0], End: [w, 23] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    setActive([Math.max(0, Math.min(6, m[0])), Math.max(0, Math.min(23, m[1]))]);
  };
  const at = (e: PointerEvent, el: SVGSVGElement) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0) return;
    const vx = ((e.clientX - r.left) / r.width) * W;
    const vy = ((e.clientY - r.top) / r.height) * h;
    const hr = Math.floor((vx - left) / cw);
    const w = Math.floor((vy - top) / ch);
    setActive(hr >= 0 && hr < 24 && w >= 0 && w < 7 ? [w, hr] : null);
  };
  const act = active ? cells[active[0]]![active[1]]! : null;
  return (
    <div class="chart-plot">
      <svg viewBox={`0 0 ${W} ${h}`} role="img" tabIndex={0} class="chart-svg" aria-label={`${describe} Use the arrow keys for each hour's figures, or show the numbers.`}
        onPointerMove={(e) => at(e, e.currentTarget)} onPointerLeave={() => setActive(null)} onKeyDown={onKey} onBlur={() => setActive(null)}>
        {WEEKDAY_SHORT.map((d, w) => <text key={d} class="chart-tick" x={left - 6} y={top + ch * w + ch / 2} dy="0.32em" text-anchor="end">{d}</text>)}
        {[0, 3, 6, 9, 12, 15, 18, 21].map((hr) => <text key={hr} class="chart-tick" x={left + cw * hr + cw / 2} y={h - 6} text-anchor="middle">{String(hr).padStart(2, '0')}</text>)}
        {cells.map((row, w) => row.map((c, hr) => (
          <rect key={`${w}-${hr}`} x={left + cw * hr + 1} y={top + ch * w + 1} width={cw - 2} height={ch - 2} rx={2}
            class={c.value === null ? 'heat-none' : 'heat-cell'} fill-opacity={c.value === null || max === 0 ? undefined : (0.12 + 0.88 * c.value / max).toFixed(3)}
            stroke-width={active && active[0] === w && active[1] === hr ? 2 : 0} />
        )))}
      </svg>
      <div class="chart-tooltip" aria-live="polite" hidden={!act}>
        {act && active && <><strong>{WEEKDAY_SHORT[active[0]]} {String(active[1]).padStart(2, '0')}:00</strong><div>{act.text}</div></>}
      </div>
    </div>
  );
}
