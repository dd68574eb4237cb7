// The report (report.ts) as a PDF, drawn by PDFKit: pure JavaScript, no headless browser on the server.
// The same figures, charts (bars drawn as vectors) and the numbers behind each chart as a table.
//
// Text is set in fonts embedded in the file (subset to the glyphs used), not the PDF's standard Helvetica,
// which has Latin-1 only and printed "?" for a Polish, Greek or Cyrillic letter or an emoji in a post:
// Noto Sans (@fontsource/noto-sans, OFL: Latin with its extensions and Vietnamese, Greek, Cyrillic, one
// small file per script) and for pictographs Noto Emoji (@fontsource/noto-emoji, OFL, monochrome outlines:
// a PDF has no colour glyphs). WOFF, which fontkit reads (its WOFF2 path needs a Brotli decoder). DejaVu Sans
// (one file for all) was tried: fontkit spent ~0.4 s of CPU per report laying out and subsetting its 6,000
// glyphs. CJK is not embedded: the Noto Sans SC/JP packages are 70+ MB; such a character prints as U+FFFD.
// A character is drawn in the first font that has it, so a line is split into runs, one per font; lines are
// measured, cut with an ellipsis and wrapped here rather than by PDFKit's line wrapper, which cannot change
// font within a line.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { create as openFont, type Font } from 'fontkit';
import { changeText, fmt, headline, localTime, niceCeil, rateText, signed, usernameOf, type Report } from './report.ts';

const MARGIN = 48;
const ACCENT = '#0969da';
const PREVIOUS = '#8c959f';
const MUTED = '#57606a';

interface Face {
  bytes: Buffer;
  font: Font;
  /** Advance widths by code point, in font units: PDFKit's widthOfString lays the text out each time. */
  advances: Map<number, number>;
}

/** Noto Sans comes split by script, one font file each; a character is looked for in this order. */
const SUBSETS = ['latin', 'latin-ext', 'greek', 'greek-ext', 'cyrillic', 'cyrillic-ext', 'vietnamese'] as const;
const WEIGHTS = [400, 700] as const;
const EMOJI = 'emoji';
/**
 * OpenType features fontkit would apply to every string: off (kerning and marks cost layout time; text is
 * NFC, precomposed letters; widths are measured without kerning anyway, widthOfRun).
 */
const NO_FEATURES = Object.fromEntries(['ccmp', 'locl', 'mark', 'mkmk', 'rlig', 'calt', 'clig', 'liga', 'rclt', 'curs', 'kern'].map((k) => [k, false]));
/** Printed for a character no embedded font has (U+FFFD, in the Latin file). */
export const MISSING = '\ufffd';

interface Faces { byName: Map<string, Face>; chain: Record<(typeof WEIGHTS)[number], string[]> }

// Read once per process on first use: fixed files of the installed packages, the same for every report
// (like the metrics PDFKit keeps for its standard fonts), so not a dependency to pass in.
let faces: Faces | undefined;
function loadFaces(): Faces {
  if (!faces) {
    const require = createRequire(import.meta.url);
    const byName = new Map<string, Face>();
    const add = (name: string, file: string) => {
      const bytes = readFileSync(require.resolve(file));
      byName.set(name, { bytes, font: openFont(bytes), advances: new Map() });
      return name;
    };
    const chain = { 400: [] as string[], 700: [] as string[] };
    for (const w of WEIGHTS) for (const s of SUBSETS) chain[w].push(add(`${s}-${w}`, `@fontsource/noto-sans/files/noto-sans-${s}-${w}-normal.woff`));
    add(EMOJI, '@fontsource/noto-emoji/files/noto-emoji-emoji-400-normal.woff');
    faces = { byName, chain };
  }
  return faces;
}

export interface Run { face: string; text: string }

/**
 * `text` as runs of one font each, on one line: a pictograph in the emoji font, anything else in the first
 * Noto Sans file that has it, then the emoji font; line breaks and other controls as spaces; variation
 * selectors and joiners no font draws left out; what no font has as MISSING.
 */
export function runs(text: string, bold = false): Run[] {
  const { byName, chain } = loadFaces();
  const order = chain[bold ? 700 : 400];
  const has = (face: string, cp: number) => byName.get(face)!.font.hasGlyphForCodePoint(cp);
  const out: Run[] = [];
  const push = (face: string, ch: string) => {
    const last = out[out.length - 1];
    if (last && last.face === face) last.text += ch;
    else out.push({ face, text: ch });
  };
  for (const raw of text.normalize('NFC')) {
    const ch = /\p{Cc}/u.test(raw) ? ' ' : raw;
    const cp = ch.codePointAt(0)!;
    const last = out[out.length - 1];
    if (/[\p{Cf}\u{fe00}-\u{fe0f}]/u.test(ch)) {
      // A joiner or selector belongs to the character before it, in its font, if that font draws it.
      if (last && has(last.face, cp)) last.text += ch;
      continue;
    }
    if (/\p{Extended_Pictographic}/u.test(ch) && has(EMOJI, cp)) {
      push(EMOJI, ch);
      continue;
    }
    // The run's font first, so a word stays in one font where it can.
    const face = (last && last.face !== EMOJI && has(last.face, cp) ? last.face : undefined)
      ?? order.find((f) => has(f, cp)) ?? (has(EMOJI, cp) ? EMOJI : undefined);
    push(face ?? order[0]!, face ? ch : MISSING);
  }
  return out;
}

/** The width of a run at `size` points: the glyphs' advances (kerning left out, a fraction of a point). */
function widthOfRun(run: Run, size: number): number {
  const face = loadFaces().byName.get(run.face)!;
  let units = 0;
  for (const ch of run.text) {
    const cp = ch.codePointAt(0)!;
    let a = face.advances.get(cp);
    if (a === undefined) {
      a = face.font.glyphForCodePoint(cp).advanceWidth;
      face.advances.set(cp, a);
    }
    units += a;
  }
  return (units * size) / face.font.unitsPerEm;
}

type Doc = PDFKit.PDFDocument;

export function reportPdf(r: Report): Promise<Buffer> {
  const o = r.overview;
  const f = loadFaces();
  const doc: Doc = new PDFDocument({
    size: 'A4', margin: MARGIN, compress: true,
    info: { Title: `${r.workspace}: analytics ${o.from} to ${o.to}`, Producer: 'AllIN', Creator: 'AllIN' },
  });
  for (const [name, face] of f.byName) doc.registerFont(name, face.bytes);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;
  const bottomY = () => doc.page.height - MARGIN;
  let y = MARGIN;
  const room = (h: number) => {
    if (y + h > bottomY()) {
      doc.addPage();
      y = MARGIN;
    }
  };

  interface Style { size: number; bold?: boolean; color?: string }
  const widthOf = widthOfRun;
  /** `text` on one line from (x, y) within `w`, cut with an ellipsis when longer; returns its width. */
  const line = (text: string, x: number, top: number, w: number, st: Style, align: 'left' | 'right' | 'center' = 'left'): number => {
    const main = f.chain[st.bold ? 700 : 400][0]!;
    // A cell holds far fewer characters than this: measure no more.
    let parts = runs([...text].slice(0, 400).join(''), st.bold);
    let total = parts.reduce((n, p) => n + widthOf(p, st.size), 0);
    if (total > w) {
      const ellipsis: Run = { face: main, text: '\u2026' };
      let room = w - widthOf(ellipsis, st.size);
      const kept: Run[] = [];
      for (const p of parts) {
        let text = '';
        for (const ch of p.text) {
          const cw = widthOf({ face: p.face, text: ch }, st.size);
          if (cw > room) break;
          room -= cw;
          text += ch;
        }
        if (text) kept.push({ face: p.face, text });
        if (text !== p.text) break;
      }
      parts = [...kept, ellipsis];
      total = parts.reduce((n, p) => n + widthOf(p, st.size), 0);
    }
    let cx = align === 'right' ? x + w - total : align === 'center' ? x + (w - total) / 2 : x;
    doc.fillColor(st.color ?? '#000');
    for (const p of parts) {
      // PDFKit's types name the features as a list; fontkit takes an object, where false turns one off.
      doc.font(p.face).fontSize(st.size).text(p.text, cx, top, { lineBreak: false, features: NO_FEATURES as unknown as PDFKit.Mixins.OpenTypeFeatures[] });
      cx += widthOf(p, st.size);
    }
    return total;
  };
  /** `text` wrapped at spaces within `width`, at most `maxLines` lines (the last cut with an ellipsis). */
  const paragraph = (text: string, st: Style, maxLines = 20) => {
    const words = text.replace(/\s+/g, ' ').trim().split(' ');
    const space = widthOf({ face: f.chain[400][0]!, text: ' ' }, st.size);
    const lines: string[] = [];
    let current = '';
    let used = 0;
    for (const word of words) {
      const ww = runs(word, st.bold).reduce((n, p) => n + widthOf(p, st.size), 0);
      if (current && used + space + ww > width && lines.length < maxLines - 1) {
        lines.push(current);
        current = word;
        used = ww;
      } else {
        current = current ? `${current} ${word}` : word;
        used += (current === word ? 0 : space) + ww;
      }
    }
    if (current) lines.push(current);
    for (const l of lines) {
      room(st.size * 1.3);
      line(l, MARGIN, y, width, st);
      y += st.size * 1.3;
    }
  };
  const heading = (text: string) => {
    room(60);
    y += 10;
    line(text, MARGIN, y, width, { size: 13, bold: true });
    y += 20;
  };
  /** A table: the first column left, the others right-aligned, one line per row (long text cut with an ellipsis). */
  const table = (head: string[], widths: number[], rows: string[][], leftCols = 1) => {
    const row = (cells: string[], bold: boolean, spans = widths) => {
      room(14);
      let x = MARGIN;
      cells.forEach((c, i) => {
        const w = spans[i]! * width;
        line(c, x + 2, y, w - 4, { size: 8.5, bold }, i < leftCols ? 'left' : 'right');
        x += w;
      });
      y += 13;
    };
    row(head, true);
    doc.moveTo(MARGIN, y - 2).lineTo(MARGIN + width, y - 2).lineWidth(0.5).strokeColor('#d0d7de').stroke();
    if (rows.length === 0) row(['Nothing in this period.'], false, [1]);
    for (const cells of rows) row(cells, false);
    y += 6;
  };
  const bars = (labels: string[], series: { color: string; values: (number | null)[] }[], legend: string[] = []) => {
    const h = 130;
    room(h + 30);
    const left = MARGIN + 40;
    const plotW = width - 40;
    const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0)));
    const scale = max > 0 ? niceCeil(max) : 1;
    const yOf = (v: number) => y + h - (v / scale) * h;
    const small = { size: 7, color: MUTED };
    for (const t of [0, scale / 2, scale]) {
      doc.moveTo(left, yOf(t)).lineTo(left + plotW, yOf(t)).lineWidth(0.3).strokeColor('#d0d7de').stroke();
      line(fmt(t), MARGIN, yOf(t) - 3, 36, small, 'right');
    }
    const slot = plotW / Math.max(1, labels.length);
    const barW = Math.max(0.5, (slot * 0.8) / series.length);
    const every = Math.max(1, Math.ceil(labels.length / 10));
    labels.forEach((label, i) => {
      series.forEach((s, j) => {
        const v = s.values[i];
        if (v === null || v === undefined || v <= 0) return;
        doc.rect(left + i * slot + slot * 0.1 + j * barW, yOf(v), barW, y + h - yOf(v)).fill(s.color);
      });
      if (i % every === 0) line(label, left + i * slot - 10, y + h + 4, slot + 20, small, 'center');
    });
    doc.moveTo(left, y).lineTo(left, y + h).lineTo(left + plotW, y + h).lineWidth(0.6).strokeColor('#8c959f').stroke();
    y += h + 16;
    if (legend.length > 0) {
      let x = left;
      legend.forEach((l, i) => {
        doc.rect(x, y + 1, 7, 7).fill(series[i]!.color);
        x += 10 + line(l, x + 10, y, width, { size: 7 }) + 18;
      });
      y += 14;
    }
    y += 4;
  };

  line(r.workspace, MARGIN, y, width, { size: 18, bold: true });
  y += 26;
  paragraph(`Analytics from ${o.from} to ${o.to} (days in ${o.timeZone}), against ${o.previous.from} to ${o.previous.to}.`, { size: 10, color: MUTED });
  y += 2;
  const accounts = o.accounts.length === 0 ? 'no account' : o.accounts.map((a) => `${a.username} (${a.provider})`).join(', ');
  paragraph(`Accounts: ${accounts}.`, { size: 10, color: MUTED }, 4);
  y += 4;

  heading('Overview');
  table(['Figure', 'This period', 'Previous period', 'Change'], [0.31, 0.21, 0.21, 0.27],
    headline(o).map(({ label, change: c }) => [label, fmt(c.current), fmt(c.previous), changeText(c)]));

  heading(`Engagement per day of publishing (${o.timeZone})`);
  bars(o.days.map((d) => d.date.slice(5)), [{ color: ACCENT, values: o.days.map((d) => d.engagement) }]);
  table(['Day', 'Posts', 'Likes', 'Reposts', 'Replies', 'Impressions', 'Engagement'], [0.2, 0.1, 0.13, 0.13, 0.13, 0.16, 0.15],
    o.days.map((d) => [d.date, fmt(d.posts), fmt(d.likes), fmt(d.reposts), fmt(d.replies), fmt(d.impressions), fmt(d.engagement)]));

  heading('Engagement by network');
  bars(o.networks.map((n) => n.provider), [
    { color: ACCENT, values: o.networks.map((n) => n.engagement.current) },
    { color: PREVIOUS, values: o.networks.map((n) => n.engagement.previous) },
  ], [`${o.from} to ${o.to}`, `${o.previous.from} to ${o.previous.to}`]);
  table(['Network', 'Posts', 'Engagement', 'Before', 'Change', 'Impressions'], [0.18, 0.1, 0.16, 0.16, 0.22, 0.18],
    o.networks.map((n) => [n.provider, fmt(n.posts.current), fmt(n.engagement.current), fmt(n.engagement.previous), changeText(n.engagement), fmt(n.impressions.current)]));

  heading('Followers per account (UTC days)');
  table(['Account', 'Network', 'First', 'Last', 'Growth', 'Before'], [0.3, 0.14, 0.14, 0.14, 0.14, 0.14],
    o.followers.accounts.map((a) => [usernameOf(o, a.accountId), a.provider, fmt(a.first), fmt(a.last), signed(a.growth.current), signed(a.growth.previous)]), 2);

  heading('Top posts by engagement');
  table(['Published', 'Account', 'Text', 'Likes', 'Reposts', 'Replies', 'Engagement', 'Rate'], [0.14, 0.14, 0.28, 0.07, 0.08, 0.08, 0.12, 0.09],
    o.top.map((p) => [localTime(p.publishedAt, o.timeZone), p.username, p.text, fmt(p.likes), fmt(p.reposts), fmt(p.replies), fmt(p.engagement), rateText(p.engagementRate)]), 3);

  room(30);
  y += 8;
  paragraph(`Engagement is likes + reposts + replies as each network reports them; a dash is a figure the network does not report (never 0). Follower counts are per UTC day. Generated by AllIN at ${o.generatedAt}.`, { size: 7.5, color: MUTED });
  doc.end();
  return done;
}
