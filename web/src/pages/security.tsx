// Security: my profile (name, time zone), passkeys, the authenticator app and recovery codes, my sessions
// (where I am signed in, and how) with revoke, signing out everywhere else, changing the password, and my
// account's recent security events. A change the server answers STEP_UP_REQUIRED asks for a passkey or a
// code (step-up.tsx).
import { useState } from 'preact/hooks';
import { browserSupportsWebAuthn, startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { api, getAll, sessionId } from '../api.ts';
import { useStepUp, type Guarded } from '../step-up.tsx';
import { dateTime, relative } from '../format.ts';
import type { Me, Paged, Session } from '../types.ts';
import { ZoneSelect } from './settings.tsx';
import { Button, ConfirmButton, ErrorNote, Field, Loading, Page, Submit, toast, useAction, useLoad } from '../ui.tsx';

// `mfa` only says that a passkey alone verified the person: "passkey" says it. `idp:…` are the identity
// provider's own methods behind a single sign-on (docs/SSO.md).
const METHOD_WORDS: Record<string, string> = { pwd: 'password', otp: 'authenticator app', recovery: 'recovery code', hwk: 'passkey', swk: 'passkey', mfa: '', sso: 'single sign-on' };
const word = (m: string) => (m.startsWith('idp:') ? `${METHOD_WORDS[m.slice(4)] || m.slice(4)} at the provider` : METHOD_WORDS[m] ?? m);
const methods = (amr: string[]) => amr.map(word).filter(Boolean).join(' + ');

interface FactorStatus { totp: { confirmedAt: string } | null; enrolmentPending: boolean; passkeys: number; recoveryCodesLeft: number }
interface PasskeyItem { id: string; name: string; createdAt: string; lastUsedAt: string | null; synced: boolean }

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <div class="notice" role="status" aria-labelledby="recovery-title">
      <h3 id="recovery-title">Your recovery codes</h3>
      <p>Save them somewhere safe now: they are shown this once. Each signs you in once if you lose your phone.</p>
      <ul class="recovery-codes" aria-label="Recovery codes">{codes.map((c) => <li key={c}><code>{c}</code></li>)}</ul>
      <div class="row">
        <Button onClick={() => { void navigator.clipboard?.writeText(codes.join('\n')).then(() => toast.ok('Copied.')); }}>Copy</Button>
        <Button kind="primary" onClick={onDone}>I have saved them</Button>
      </div>
    </div>
  );
}

/** Passkeys: the list (name, added, last used, remove) and adding one (password, then the browser's prompt). */
function Passkeys({ guard, version, onChange }: { guard: Guarded; version: number; onChange: () => void }) {
  const list = useLoad(() => api.get<{ passkeys: PasskeyItem[] }>('/api/auth/passkeys'), [version]);
  const status = useLoad(() => api.get<FactorStatus>('/api/auth/second-factor'), [version]);
  const [run, busy] = useAction();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const supported = browserSupportsWebAuthn();
  const items = list.data?.passkeys ?? [];
  const s = status.data;
  return (
    <section aria-labelledby="passkeys">
      <h2 id="passkeys">Passkeys</h2>
      <p>A passkey signs you in with your device's screen lock or a security key, without a password, and cannot be phished. It also counts as your second step after a password.</p>
      {list.loading && !list.data && <Loading />}
      {list.error ? <ErrorNote error={list.error} retry={list.reload} /> : null}
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      {items.length > 0 && (
        <ul class="list" aria-label="Passkeys">
          {items.map((k) => (
            <li key={k.id} class="list-item">
              <div class="grow">
                <strong>{k.name}</strong>{k.synced && <span class="badge">Synced</span>}
                <div class="meta">added {dateTime(k.createdAt)} · {k.lastUsedAt ? `last used ${relative(k.lastUsedAt)}` : 'not used yet'}</div>
              </div>
              <ConfirmButton small label={`Remove passkey ${k.name}`} question={`Remove the passkey "${k.name}"? It will no longer sign you in.`} confirm="Remove it"
                onConfirm={async () => { await guard(() => api.del(`/api/auth/passkeys/${k.id}`)); toast.ok('Passkey removed.'); onChange(); }} />
            </li>
          ))}
        </ul>
      )}
      {s && !s.totp && s.passkeys > 0 && (
        <div class="row">
          <p>{s.recoveryCodesLeft} recovery {s.recoveryCodesLeft === 1 ? 'code' : 'codes'} left.</p>
          <Button busy={busy} onClick={() => run(() => guard(() => api.post<{ recoveryCodes: string[] }>('/api/auth/second-factor/recovery-codes')))
            .then((r) => { if (r) { setCodes(r.recoveryCodes); onChange(); } })}>New recovery codes</Button>
        </div>
      )}
      {supported ? (
        <form class="form" onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const { options } = await guard(() => api.post<{ options: PublicKeyCredentialCreationOptionsJSON }>('/api/auth/passkeys/registration-options', { password }));
            const response = await startRegistration({ optionsJSON: options });
            return api.post<{ id: string; recoveryCodes: string[] | null }>('/api/auth/passkeys', { name: name.trim(), response });
          }, (r) => (r.recoveryCodes ? 'Passkey added: two-step verification is on. Your other sessions were signed out.' : 'Passkey added.')).then((r) => {
            if (!r) return;
            setName('');
            setPassword('');
            if (r.recoveryCodes) setCodes(r.recoveryCodes);
            onChange();
          });
        }}>
          <Field label="Name of the passkey" hint="To tell it apart later, for example “Work laptop” or “Blue security key”.">
            {(p) => <input {...p} required maxLength={60} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
          </Field>
          <Field label="Password, to add a passkey" hint="Asked again before adding one.">
            {(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
          </Field>
          <Submit busy={busy} disabled={!name.trim() || !password}>Add a passkey</Submit>
        </form>
      ) : <p class="meta">This browser cannot use passkeys.</p>}
    </section>
  );
}

/** The authenticator app: set it up (password, QR code, first code), or replace recovery codes and remove it. */
function Authenticator({ guard, version, onChange }: { guard: Guarded; version: number; onChange: () => void }) {
  const status = useLoad(() => api.get<FactorStatus>('/api/auth/second-factor'), [version]);
  const [run, busy] = useAction();
  const [password, setPassword] = useState('');
  const [setup, setSetup] = useState<{ qrCode: string; secret: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const s = status.data;
  return (
    <section aria-labelledby="two-step">
      <h2 id="two-step">Two-step verification</h2>
      {status.loading && !s && <Loading />}
      {status.error ? <ErrorNote error={status.error} retry={status.reload} /> : null}
      {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
      {s?.totp && (
        <>
          <p>Authenticator app <strong>on</strong> since {dateTime(s.totp.confirmedAt)}. Signing in asks for its code after your password. {s.recoveryCodesLeft} recovery {s.recoveryCodesLeft === 1 ? 'code' : 'codes'} left.</p>
          <div class="row">
            <Button busy={busy} onClick={() => run(() => guard(() => api.post<{ recoveryCodes: string[] }>('/api/auth/second-factor/recovery-codes')))
              .then((r) => { if (r) { setCodes(r.recoveryCodes); status.reload(); } })}>New recovery codes</Button>
            <ConfirmButton label="Remove the authenticator app" question="Signing in will need only your password again, and workspaces that require two-step verification will be closed to you." confirm="Remove it"
              onConfirm={async () => { await guard(() => api.del('/api/auth/second-factor/totp')); toast.ok('Authenticator app removed.'); status.reload(); onChange(); }} />
          </div>
        </>
      )}
      {s && !s.totp && !setup && (
        <form class="form" onSubmit={(e) => {
          e.preventDefault();
          // With a passkey already, adding the app needs a fresh second factor (step-up).
          void run(() => guard(() => api.post<{ qrCode: string; secret: string }>('/api/auth/second-factor/totp', { password }))).then((r) => { if (r) { setSetup(r); setPassword(''); } });
        }}>
          <p>Add a code from an authenticator app (on your phone) to your password, so that a stolen password alone cannot sign in.</p>
          <Field label="Your password" hint="Asked again before setting it up.">
            {(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
          </Field>
          <Submit busy={busy} disabled={!password}>Set up an authenticator app</Submit>
        </form>
      )}
      {s && !s.totp && setup && (
        <form class="form" onSubmit={(e) => {
          e.preventDefault();
          void run(() => api.post<{ recoveryCodes: string[] }>('/api/auth/second-factor/totp/confirm', { code: code.trim() }), 'Two-step verification is on. Your other sessions were signed out.')
            .then((r) => { if (r) { setCodes(r.recoveryCodes); setSetup(null); setCode(''); status.reload(); onChange(); } });
        }}>
          <p>Scan this code with your authenticator app, or type the key into it.</p>
          <img class="qr-code" src={setup.qrCode} width={200} height={200} alt="QR code of the authenticator key" />
          <p>Key: <code class="secret-key">{setup.secret}</code></p>
          <Field label="The 6-digit code the app shows">
            {(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" maxLength={7} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
          </Field>
          <div class="row">
            <Submit busy={busy} disabled={!code.trim()}>Turn on</Submit>
            <Button onClick={() => { setSetup(null); setCode(''); }}>Cancel</Button>
          </div>
        </form>
      )}
    </section>
  );
}

/** "Chrome on Linux" from a User-Agent, enough to recognise a session. */
function device(ua: string | null): string {
  if (!ua) return 'Unknown device';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : /curl|node|undici/i.test(ua) ? 'A program' : 'A browser';
  const os = /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

function Profile({ me, reloadMe }: { me: Me; reloadMe: () => Promise<void> }) {
  const [name, setName] = useState(me.name);
  const [zone, setZone] = useState(me.timeZone ?? '');
  const [run, busy] = useAction();
  return (
    <form class="form" aria-labelledby="profile" onSubmit={(e) => {
      e.preventDefault();
      void run(async () => {
        await api.patch<Me>('/api/auth/me', { name: name.trim(), timeZone: zone || null });
        await reloadMe();
      }, 'Profile saved.');
    }}>
      <h2 id="profile">Your profile</h2>
      <Field label="Name">{(p) => <input {...p} required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
      <ZoneSelect value={zone} onChange={setZone} label="Your time zone" none="Each workspace's own zone"
        hint="Dates, the calendar and new posts' times are shown in it." />
      <Submit busy={busy}>Save profile</Submit>
    </form>
  );
}

export function Security({ me, reloadMe }: { me: Me; reloadMe: () => Promise<void> }) {
  const sessions = useLoad(() => getAll<Paged<'sessions', Session>>('/api/auth/sessions', 'sessions'), []);
  const activity = useLoad(() => api.get<{ events: { id: number; action: string; createdAt: string; ip: string | null; userAgent: string | null; amr?: string[] }[] }>('/api/auth/activity', { query: { limit: 20 } }), []);
  const [run, busy] = useAction();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [guard, stepUpDialog] = useStepUp();
  // Moves on when a factor changes, so both factor sections and the sessions read again.
  const [version, setVersion] = useState(0);
  const factorsChanged = () => { setVersion((v) => v + 1); sessions.reload(); };

  const list = sessions.data?.sessions ?? [];
  const others = list.filter((s) => !s.current && s.id !== sessionId());
  return (
    <Page title="Security">
      <Profile me={me} reloadMe={reloadMe} />
      <Passkeys guard={guard} version={version} onChange={factorsChanged} />
      <Authenticator guard={guard} version={version} onChange={factorsChanged} />
      {stepUpDialog}
      <h2>Where you are signed in</h2>
      {sessions.loading && !sessions.data && <Loading />}
      {sessions.error ? <ErrorNote error={sessions.error} retry={sessions.reload} /> : null}
      {list.length > 0 && (
        <ul class="list" aria-label="Sessions">
          {list.map((s) => (
            <li key={s.id} class="list-item session" data-session={s.id}>
              <div class="grow">
                <strong>{device(s.userAgent)}</strong>{s.current && <span class="badge badge-published">This session</span>}
                <div class="meta">
                  {s.ip ?? 'unknown address'} · signed in {dateTime(s.createdAt)} with {methods(s.amr)} · last active {relative(s.lastUsedAt)} · ends {dateTime(s.expiresAt)}{s.rememberMe ? ' (kept signed in)' : ''}
                </div>
              </div>
              {!s.current && (
                <Button small kind="danger" label={`Sign out ${device(s.userAgent)} (${s.ip ?? 'unknown address'})`}
                  onClick={() => run(async () => { await api.del(`/api/auth/sessions/${s.id}`); sessions.reload(); }, 'That session is signed out.')}>Sign out</Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {others.length > 0 && (
        <ConfirmButton label="Sign out everywhere else" question={`Sign out the ${others.length} other ${others.length === 1 ? 'session' : 'sessions'}? This one stays signed in.`} confirm="Sign them out"
          onConfirm={async () => { const r = await api.post<{ revoked: number }>('/api/auth/logout', { scope: 'others' }); toast.ok(`${r.revoked} signed out.`); sessions.reload(); }} />
      )}

      <h2>Change your password</h2>
      <form class="form" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          const r = await guard(() => api.post<{ otherSessionsEnded: number }>('/api/auth/password', { currentPassword: current, newPassword: next }));
          setCurrent('');
          setNext('');
          sessions.reload();
          return r;
        }, (r) => `Password changed${r.otherSessionsEnded ? `; ${r.otherSessionsEnded} other ${r.otherSessionsEnded === 1 ? 'session was' : 'sessions were'} signed out` : ''}.`);
      }}>
        <Field label="Current password">{(p) => <input {...p} type="password" autoComplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />}</Field>
        <Field label="New password" hint="8 to 128 characters; common or easily guessed passwords are refused.">
          {(p) => <input {...p} type="password" autoComplete="new-password" required value={next} onInput={(e) => setNext(e.currentTarget.value)} />}
        </Field>
        <Submit busy={busy} disabled={!current || !next}>Change password</Submit>
      </form>

      <h2>Recent security events</h2>
      {activity.loading && !activity.data && <Loading />}
      {activity.error ? <ErrorNote error={activity.error} retry={activity.reload} /> : null}
      {activity.data && (
        <table class="table">
          <caption class="visually-hidden">Security events, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">From</th></tr></thead>
          <tbody>
            {activity.data.events.map((e) => <tr key={e.id}><td>{dateTime(e.createdAt)}</td><td><code>{e.action}</code>{e.amr ? ` (${methods(e.amr)})` : ''}</td><td>{e.ip ?? '—'} {e.userAgent ? `· ${device(e.userAgent)}` : ''}</td></tr>)}
          </tbody>
        </table>
      )}
    </Page>
  );
}
