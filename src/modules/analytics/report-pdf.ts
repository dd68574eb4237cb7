// The report (report.ts) as a PDF, drawn by PDFKit: pure JavaScript, no headless browser on the server.
// The same figures, charts (bars drawn as vectors) and the numbers behind each chart as a table. The text is
// set in the PDF's standard Helvetica, which has Latin-1 glyphs only: a character outside it (an emoji, CJK)
// is printed as "?" rather than as a wrong glyph; the HTML report shows the text as written.
import PDFDocument from 'pdfkit';
import { changeText, fmt, headline, localTime, niceCeil, rateText, signed, usernameOf, type Report } from './report.ts';

const MARGIN = 48;
const ACCENT = '#0969da';
const PREVIOUS = '#8c959f';
const MUTED = '#57606a';

/** Text the standard fonts can show: Latin-1 and the WinAnsi punctuation, the rest "?". */
export function latin(s: string): string {
  return s.replace(/\u2212/g, '-').replace(/[^\u0020-\u007e\u00a0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u20ac]/gu, (c) => (c === '\n' || c === '\t' ? ' ' : '?'));
}

type Doc = PDFKit.PDFDocument;

export function reportPdf(r: Report): Promise<Buffer> {
  const o = r.overview;
  const doc: Doc = new PDFDocument({
    size: 'A4', margin: MARGIN, compress: true,
    info: { Title: latin(`${r.workspace}: analytics ${o.from} to ${o.to}`), Producer: 'AllIN', Creator: 'AllIN' },
  });
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
  const heading = (text: string) => {
    room(60);
    y += 10;
    doc.font('Helvetica-Bold').fontSize(13).fillColor('#000').text(latin(text), MARGIN, y, { lineBreak: false });
    y += 20;
  };
  /** A table: the first column left, the others right-aligned, one line per row (long text cut with an ellipsis). */
  const table = (head: string[], widths: number[], rows: string[][], leftCols = 1) => {
    const line = (cells: string[], bold: boolean, spans = widths) => {
      room(14);
      let x = MARGIN;
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8.5).fillColor('#000');
      cells.forEach((c, i) => {
        const w = spans[i]! * width;
        doc.text(latin(c), x + 2, y, { width: w - 4, align: i < leftCols ? 'left' : 'right', lineBreak: false, ellipsis: true, height: 12 });
        x += w;
      });
      y += 13;
    };
    line(head, true);
    doc.moveTo(MARGIN, y - 2).lineTo(MARGIN + width, y - 2).lineWidth(0.5).strokeColor('#d0d7de').stroke();
    if (rows.length === 0) line(['Nothing in this period.'], false, [1]);
    for (const row of rows) line(row, false);
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
    doc.font('Helvetica').fontSize(7).fillColor(MUTED);
    for (const t of [0, scale / 2, scale]) {
      doc.moveTo(left, yOf(t)).lineTo(left + plotW, yOf(t)).lineWidth(0.3).strokeColor('#d0d7de').stroke();
      doc.text(fmt(t), MARGIN, yOf(t) - 3, { width: 36, align: 'right', lineBreak: false });
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
      if (i % every === 0) doc.fillColor(MUTED).text(latin(label), left + i * slot - 10, y + h + 4, { width: slot + 20, align: 'center', lineBreak: false });
    });
    doc.moveTo(left, y).lineTo(left, y + h).lineTo(left + plotW, y + h).lineWidth(0.6).strokeColor('#8c959f').stroke();
    y += h + 16;
    if (legend.length > 0) {
      let x = left;
      legend.forEach((l, i) => {
        doc.rect(x, y + 1, 7, 7).fill(series[i]!.color);
        doc.fillColor('#000').text(latin(l), x + 10, y, { lineBreak: false });
        x += 10 + doc.widthOfString(latin(l)) + 18;
      });
      y += 14;
    }
    y += 4;
  };

  doc.font('Helvetica-Bold').fontSize(18).fillColor('#000').text(latin(r.workspace), MARGIN, y, { width, lineBreak: false, ellipsis: true });
  y += 24;
  doc.font('Helvetica').fontSize(10).fillColor(MUTED)
    .text(latin(`Analytics from ${o.from} to ${o.to} (days in ${o.timeZone}), against ${o.previous.from} to ${o.previous.to}.`), MARGIN, y, { width });
  y = doc.y + 2;
  const accounts = o.accounts.length === 0 ? 'no account' : o.accounts.map((a) => `${a.username} (${a.provider})`).join(', ');
  doc.text(latin(`Accounts: ${accounts}.`), MARGIN, y, { width, height: 60, ellipsis: true });
  y = doc.y + 4;

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
  doc.font('Helvetica').fontSize(7.5).fillColor(MUTED).text(latin(`Engagement is likes + reposts + replies as each network reports them; a dash is a figure the network does not report (never 0). Follower counts are per UTC day. Generated by AllIN at ${o.generatedAt}.`), MARGIN, y + 8, { width });
  doc.end();
  return done;
}
