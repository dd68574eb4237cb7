// Dates, sizes and states in words.

export const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

export function zones(): string[] {
  const sv = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf;
  const list = sv ? sv('timeZone') : [];
  return list.includes('UTC') ? list : ['UTC', ...list];
}

export function dateTime(iso: string | null | undefined, zone?: string): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', ...(zone ? { timeZone: zone } : {}) });
}

export function dateOnly(iso: string, zone?: string): string {
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium', ...(zone ? { timeZone: zone } : {}) });
}

export function relative(iso: string | null | undefined): string {
  if (!iso) return '';
  const diff = new Date(iso).getTime() - Date.now();
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 60_000) return rtf.format(Math.round(diff / 1000), 'second');
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), 'minute');
  if (abs < 86_400_000) return rtf.format(Math.round(diff / 3_600_000), 'hour');
  return rtf.format(Math.round(diff / 86_400_000), 'day');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The wall-clock parts of an instant in a zone: YYYY-MM-DD and HH:mm:ss. */
export function localParts(at: Date, zone: string): { date: string; time: string } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` };
}

/** YYYY-MM-DD of today in a zone. */
export const today = (zone: string): string => localParts(new Date(), zone).date;

/** Adds days to a YYYY-MM-DD date (calendar arithmetic, no time zone involved). */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** ISO weekday, 1 = Monday. */
export function weekday(day: string): number {
  const w = new Date(`${day}T00:00:00Z`).getUTCDay();
  return w === 0 ? 7 : w;
}

export function dayLabel(day: string, style: 'long' | 'short' = 'short'): string {
  return new Date(`${day}T12:00:00Z`).toLocaleDateString(undefined, {
    timeZone: 'UTC', weekday: style, day: 'numeric', month: style === 'long' ? 'long' : 'short',
  });
}

/** The weekday alone ("Mon", or "Monday" when long), for column headings: not cut out of dayLabel, whose
 *  parts and punctuation differ by locale ("Mon, Dec 7" in en-US). */
export function weekdayName(day: string, style: 'long' | 'short' = 'short'): string {
  return new Date(`${day}T12:00:00Z`).toLocaleDateString(undefined, { timeZone: 'UTC', weekday: style });
}

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

export const STATE_WORDS: Record<string, string> = {
  draft: 'Draft',
  pending_approval: 'Waiting for approval',
  scheduled: 'Scheduled',
  publishing: 'Publishing',
  published: 'Published',
  partially_published: 'Partly published',
  failed: 'Failed',
  unknown: 'Unknown outcome',
  cancelled: 'Cancelled',
  active: 'Connected',
  needs_reconnect: 'Needs reconnecting',
  disconnected: 'Disconnected',
  pending: 'Pending',
  delivered: 'Delivered',
  // Feeds and their items.
  ok: 'Working',
  failing: 'Failing',
  paused: 'Paused',
  seen: 'Seen when added, not posted',
  submitted: 'Submitted for approval',
};

export const stateWord = (s: string): string => STATE_WORDS[s] ?? s.replaceAll('_', ' ');

export const ROLE_WORDS: Record<string, string> = { owner: 'Owner', admin: 'Admin', editor: 'Editor', viewer: 'Viewer' };

/** Why a connect attempt came back without an account (the callback's connect_error codes). */
export const CONNECT_ERRORS: Record<string, string> = {
  consent_denied: 'You (or the network) declined the connection.',
  invalid_state: 'The connection attempt expired or was already used; start again.',
  state_not_yours: 'The connection was started in another browser or session; start again here.',
  exchange_failed: 'The network did not accept the connection; start again.',
  network_unavailable: 'The network could not be reached; try again in a moment.',
  different_account: 'You signed in to a different account than the one being reconnected.',
  no_accounts: 'The network found no account that AllIN can post to.',
  not_allowed: 'You are no longer allowed to connect accounts in this workspace.',
};

export function excerpt(text: string, n = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > n ? `${t.slice(0, n - 1)}…` : t || '(no text)';
}
