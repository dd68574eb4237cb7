// Sensitive changes (password, API keys, adding or removing a factor) need a second factor proven in the
// last 5 minutes: when the server answers STEP_UP_REQUIRED, a dialog takes a passkey or a code, proves it,
// and the change runs again.
import { useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { api, ApiError, passkeyProof } from './api.ts';
import { Button, Dialog, ErrorNote, Field, Submit } from './ui.tsx';

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
  // Which factors the account has, read when the dialog opens.
  const [factors, setFactors] = useState<{ totp: boolean; passkeys: boolean } | null>(null);
  const guard: Guarded = async (fn) => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'STEP_UP_REQUIRED')) throw err;
      return new Promise((resolve, reject) => {
        pending.current = { retry: fn, resolve: resolve as (v: unknown) => void, reject, error: err };
        setCode('');
        setError(null);
        setFactors(null);
        setOpen(true);
        api.get<{ totp: unknown; passkeys: number }>('/api/auth/second-factor').then((s) => {
          setFactors({ totp: s.totp !== null, passkeys: s.passkeys > 0 && browserSupportsWebAuthn() });
          if (s.totp === null && s.passkeys === 0) setRecovery(true);
        }, () => setFactors({ totp: true, passkeys: false }));
      });
    }
  };
  const close = () => {
    setOpen(false);
    pending.current?.reject(pending.current.error);
    pending.current = null;
  };
  const prove = (proof: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    void proof().then(async () => {
      const p = pending.current!;
      pending.current = null;
      setOpen(false);
      try { p.resolve(await p.retry()); } catch (err) { p.reject(err); }
    }, (err: unknown) => {
      setError(err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError') ? new Error('The passkey prompt was closed or timed out. Try again.') : err);
      setCode('');
    }).finally(() => setBusy(false));
  };
  const appOrRecovery = recovery || factors?.totp !== false;
  const dialog = (
    <Dialog open={open} title="Confirm it is you" onClose={close}>
      <p>This change needs your second factor again (it then works for 5 minutes).</p>
      {error ? <ErrorNote error={error} /> : null}
      {factors?.passkeys && !recovery && (
        <p><Button kind="primary" busy={busy} onClick={() => prove(async () => api.post('/api/auth/step-up', { passkey: await passkeyProof('/api/auth/step-up/passkey-options') }))}>Use your passkey</Button></p>
      )}
      {appOrRecovery && (
        <form class="form" onSubmit={(e) => {
          e.preventDefault();
          prove(() => api.post('/api/auth/step-up', recovery ? { recoveryCode: code.trim() } : { code: code.trim() }));
        }}>
          <Field label={recovery ? 'Recovery code' : 'Code from your authenticator app'}>
            {(p) => <input {...p} autoComplete="one-time-code" inputMode={recovery ? 'text' : 'numeric'} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
          </Field>
          <Submit busy={busy} disabled={!code.trim()}>Confirm</Submit>
        </form>
      )}
      <p class="aside">
        <button type="button" class="link-button" onClick={() => { setRecovery(!recovery); setCode(''); }}>{recovery ? (factors?.totp === false ? 'Use your passkey instead' : 'Use the app instead') : 'Use a recovery code'}</button>
      </p>
    </Dialog>
  );
  return [guard, dialog];
}

