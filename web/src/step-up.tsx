// Sensitive changes (password, API keys, removing the authenticator app) need a second factor proven in the
// last 5 minutes: when the server answers STEP_UP_REQUIRED, a dialog takes a code, proves it, and the change
// runs again.
import { useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { api, ApiError } from './api.ts';
import { Dialog, ErrorNote, Field, Submit } from './ui.tsx';

export type Guarded = <R>(fn: () => Promise<R>) => Promise<R>;

/**
 * Runs a sensitive change; when the server asks for a fresh second factor, a dialog takes a code (or a
 * recovery code), proves it, and runs the change again. Cancelling rejects with the server's refusal.
 */
export function useStepUp(): [Guarded, JSX.Element] {
  const pending = useRef<{ retry: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void; error: unknown } | null>(null);
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const guard: Guarded = async (fn) => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'STEP_UP_REQUIRED')) throw err;
      return new Promise((resolve, reject) => {
        pending.current = { retry: fn, resolve: resolve as (v: unknown) => void, reject, error: err };
        setCode('');
        setError(null);
        setOpen(true);
      });
    }
  };
  const close = () => {
    setOpen(false);
    pending.current?.reject(pending.current.error);
    pending.current = null;
  };
  const dialog = (
    <Dialog open={open} title="Confirm it is you" onClose={close}>
      <form class="form" onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        void api.post('/api/auth/step-up', recovery ? { recoveryCode: code.trim() } : { code: code.trim() }).then(async () => {
          const p = pending.current!;
          pending.current = null;
          setOpen(false);
          try { p.resolve(await p.retry()); } catch (err) { p.reject(err); }
        }, (err: unknown) => { setError(err); setCode(''); }).finally(() => setBusy(false));
      }}>
        <p>This change needs a code from your authenticator app (it then works for 5 minutes).</p>
        {error ? <ErrorNote error={error} /> : null}
        <Field label={recovery ? 'Recovery code' : 'Code from your authenticator app'}>
          {(p) => <input {...p} autoComplete="one-time-code" inputMode={recovery ? 'text' : 'numeric'} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
        </Field>
        <div class="row">
          <Submit busy={busy} disabled={!code.trim()}>Confirm</Submit>
          <button type="button" class="link-button" onClick={() => { setRecovery(!recovery); setCode(''); }}>{recovery ? 'Use the app instead' : 'Use a recovery code'}</button>
        </div>
      </form>
    </Dialog>
  );
  return [guard, dialog];
}

