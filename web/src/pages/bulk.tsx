// Bulk upload: a CSV file of posts (columns time and text) scheduled to the chosen accounts, all of them
// or none (POST …/posts/bulk). "Check" is a dry run that lists each row's time, or every problem by line.
import { useState } from 'preact/hooks';
import { api, ApiError, getAll } from '../api.ts';
import { navigate, ROUTES } from '../router.ts';
import { zones } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AccountList } from '../types.ts';
import { Button, ErrorNote, Field, Loading, Page, Submit, toast, useLoad } from '../ui.tsx';
import { providerName } from './accounts.tsx';

interface BulkResult { dryRun: boolean; created: number; posts: { line: number; postId: string | null; publishAt: string | null }[] }
interface LineProblem { line: number; field: string; message: string }

export function BulkUpload() {
  const { workspace, networks, zone: wsZone } = useApp();
  const accountsLoad = useLoad(() => getAll<AccountList>(wsPath(workspace, '/accounts'), 'accounts'), [workspace.id]);
  const [csv, setCsv] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [zone, setZone] = useState(wsZone);
  const [busy, setBusy] = useState(false);
  const [checked, setChecked] = useState<BulkResult | null>(null);
  const [problems, setProblems] = useState<LineProblem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const accounts = (accountsLoad.data?.accounts ?? []).filter((a) => a.status === 'active');

  const send = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    setProblems([]);
    setChecked(null);
    try {
      const r = await api.post<BulkResult>(wsPath(workspace, '/posts/bulk'), { csv, accountIds: chosen, timeZone: zone, dryRun });
      if (dryRun) {
        setChecked(r);
      } else {
        toast.ok(`${r.created} posts scheduled.`);
        navigate(ROUTES.posts);
      }
    } catch (err) {
      const lines = err instanceof ApiError && err.code === 'BULK_INVALID' && Array.isArray(err.details) ? err.details as LineProblem[] : [];
      if (lines.length) setProblems(lines);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title="Bulk upload">
      <p class="meta">
        A CSV file with a first line <code>time,text</code>, then one post per line, at most 350. A time like{' '}
        <code>2027-09-01 09:00</code> is in the zone chosen below; one like <code>2027-09-01T09:00:00+02:00</code> is that
        instant. If any line cannot be scheduled, nothing is.
      </p>
      {accountsLoad.error ? <ErrorNote error={accountsLoad.error} retry={accountsLoad.reload} /> : !accountsLoad.data ? <Loading /> : (
        <form class="form" onSubmit={(e) => { e.preventDefault(); void send(false); }}>
          <Field label="CSV file">
            {(p) => <input {...p} type="file" accept=".csv,text/csv" onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (file) setCsv(await file.text());
            }} />}
          </Field>
          <Field label="Or paste the CSV">
            {(p) => <textarea {...p} rows={8} value={csv} onInput={(e) => setCsv(e.currentTarget.value)} placeholder={'time,text\n2027-09-01 09:00,Autumn menu is out'} />}
          </Field>
          <fieldset class="card">
            <legend>Post every line to</legend>
            <ul class="choices">
              {accounts.map((a) => (
                <li key={a.id}>
                  <input type="checkbox" id={`bulk-${a.id}`} checked={chosen.includes(a.id)}
                    onChange={(e) => { const on = e.currentTarget.checked; setChosen((c) => (on ? [...c, a.id] : c.filter((x) => x !== a.id))); }} />
                  <label for={`bulk-${a.id}`}>{providerName(networks, a.provider)} · {a.username}</label>
                </li>
              ))}
            </ul>
          </fieldset>
          <Field label="Time zone of the times">
            {(p) => <select {...p} value={zone} onChange={(e) => setZone(e.currentTarget.value)}>{zones().map((z) => <option key={z} value={z}>{z}</option>)}</select>}
          </Field>
          {error !== null && <ErrorNote error={error} />}
          {problems.length > 0 && (
            <div class="notice" role="alert">
              <p><strong>Nothing was scheduled.</strong> Fix these lines and try again:</p>
              <ul class="problems">{problems.map((x, i) => <li key={i}>{x.message}</li>)}</ul>
            </div>
          )}
          {checked && (
            <div role="status">
              <p>All {checked.posts.length} lines can be scheduled:</p>
              <ul class="bulk-check">{checked.posts.map((x) => <li key={x.line}>Line {x.line}: {x.publishAt ? new Date(x.publishAt).toLocaleString(undefined, { timeZone: zone, dateStyle: 'medium', timeStyle: 'short' }) : '—'}</li>)}</ul>
            </div>
          )}
          <div class="row">
            <Button onClick={() => void send(true)} busy={busy} disabled={!csv.trim() || chosen.length === 0}>Check</Button>
            <Submit busy={busy} disabled={!csv.trim() || chosen.length === 0}>Schedule all</Submit>
          </div>
        </form>
      )}
    </Page>
  );
}
