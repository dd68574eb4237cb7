// Signed-out screens: sign in, sign up, confirm the email address (the mailed link), forgot and reset
// the password, the development mail outbox, and accepting an invitation (signed in).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { api, ApiError, passkeyProof, signIn, signInSecondFactor, signInWithPasskey, type SecondFactorChallenge } from '../api.ts';
import { navigate, ROUTES } from '../router.ts';
import { dateTime } from '../format.ts';
import type { MailItem, Role } from '../types.ts';
import { Button, Empty, ErrorNote, Field, Link, Loading, messageOf, Page, Submit, toast, useAction, useLoad } from '../ui.tsx';

const PASSWORD_HINT = '8 to 128 characters. Common or easily guessed passwords are refused: a few unrelated words work well.';

/** The token of a mailed link (#token=…), read once and then removed from the address bar and history. */
function useHashToken(): string | null {
  const [token] = useState(() => new URLSearchParams(location.hash.slice(1)).get('token'));
  useEffect(() => {
    if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
  }, []);
  return token;
}

function Problem({ error }: { error: unknown }) {
  return error ? <div class="error-note" role="alert"><p>{messageOf(error)}</p></div> : null;
}

/** Outside production AllIN keeps mail in an outbox; say where it is, so a local user can go on. */
function DevOutboxHint({ email }: { email?: string }) {
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    api.get('/api/dev/mail', { anonymous: true, query: { limit: 1 } }).then(() => setAvailable(true), () => setAvailable(false));
  }, []);
  if (!available) return null;
  return (
    <p class="notice">
      This AllIN runs without a mail server, so its mail waits in the outbox:{' '}
      <Link href={`${ROUTES.devMail}${email ? `?to=${encodeURIComponent(email)}` : ''}`}>open the development mail outbox</Link>.
    </p>
  );
}

export function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [resend, resending] = useAction();
  const [challenge, setChallenge] = useState<SecondFactorChallenge | null>(null);
  const [passkeyBusy, setPasskeyBusy] = useState(false);
  const unverified = error instanceof ApiError && error.code === 'EMAIL_NOT_VERIFIED';
  const ssoRequired = error instanceof ApiError && error.code === 'SSO_REQUIRED';
  // A single sign-on that was refused comes back here with its code and a message for the person.
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    const code = q.get('sso_error');
    if (code) {
      setError(new ApiError(401, code, q.get('sso_message') ?? 'Single sign-on did not work. Try again.'));
      history.replaceState(history.state, '', location.pathname);
    }
  }, []);

  /** The browser goes to the identity provider: a navigation, not a fetch (the provider's pages are its own). */
  const withSso = () => {
    if (!/^[^@\s]+@[^@\s]+$/.test(email.trim())) {
      setError(new Error('Enter your work email address above, then choose "Sign in with SSO".'));
      return;
    }
    location.assign(`/api/auth/sso/start?email=${encodeURIComponent(email.trim())}`);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await signIn(email.trim(), password, remember);
      if ('secondFactorRequired' in r) {
        setPassword('');
        setChallenge(r);
        setBusy(false);
        return;
      }
      await onSignedIn();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const withPasskey = async () => {
    setPasskeyBusy(true);
    setError(null);
    try {
      await signInWithPasskey(remember);
      await onSignedIn();
    } catch (err) {
      setError(passkeyError(err));
      setPasskeyBusy(false);
    }
  };

  if (challenge) {
    return <SecondFactorStep challenge={challenge} onSignedIn={onSignedIn} onRestart={() => { setChallenge(null); setError(null); }} />;
  }

  return (
    <Page title="Sign in" narrow>
      {notice && !error && <p class="notice" role="status">{notice}</p>}
      <Problem error={error} />
      {unverified && (
        <p>
          <Button busy={resending} onClick={() => resend(() => api.post<{ message: string }>('/api/auth/resend-verification', { email: email.trim() }, { anonymous: true }), (r) => r?.message)}>
            Send a new confirmation link
          </Button>
        </p>
      )}
      <form class="form" onSubmit={submit} noValidate>
        <Field label="Email">{(p) => <input {...p} type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
        <Field label="Password">{(p) => <input {...p} type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}</Field>
        <div class="check">
          <input id="remember" type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} />
          <label for="remember">Keep me signed in for 30 days</label>
        </div>
        <Submit busy={busy}>Sign in</Submit>
      </form>
      {browserSupportsWebAuthn() && (
        <p><Button busy={passkeyBusy} onClick={() => void withPasskey()}>Sign in with a passkey</Button></p>
      )}
      <p><Button kind={ssoRequired ? 'primary' : 'secondary'} onClick={withSso}>Sign in with SSO</Button></p>
      <p class="aside"><Link href={ROUTES.forgotPassword}>Forgot your password?</Link> · New here? <Link href={ROUTES.signUp}>Create an account</Link></p>
    </Page>
  );
}

/** A cancelled or timed-out browser prompt says so plainly; the server's refusals keep their own words. */
function passkeyError(err: unknown): unknown {
  if (err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError')) {
    return new Error('The passkey prompt was closed or timed out. Try again, or use another way to sign in.');
  }
  return err;
}

/** After the password, for an account with a second factor: a passkey, a code from the app, or a recovery code. */
function SecondFactorStep({ challenge: c, onSignedIn, onRestart }: { challenge: SecondFactorChallenge; onSignedIn: () => Promise<void>; onRestart: () => void }) {
  const challenge = c.challengeToken;
  const hasApp = c.methods.includes('totp');
  const hasPasskey = c.methods.includes('passkey') && browserSupportsWebAuthn();
  const [code, setCode] = useState('');
  const [useRecovery, setUseRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const expired = error instanceof ApiError && error.code === 'INVALID_CHALLENGE';

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signInSecondFactor(challenge, useRecovery ? { recoveryCode: code.trim() } : { code: code.trim() });
      await onSignedIn();
    } catch (err) {
      setError(err);
      setCode('');
      setBusy(false);
    }
  };
  const withPasskey = async () => {
    setBusy(true);
    setError(null);
    try {
      const passkey = await passkeyProof('/api/auth/login/second-factor/passkey-options', { challengeToken: challenge }, true);
      await signInSecondFactor(challenge, { passkey });
      await onSignedIn();
    } catch (err) {
      setError(passkeyError(err));
      setBusy(false);
    }
  };

  return (
    <Page title="Two-step verification" narrow>
      <Problem error={error} />
      {!expired && hasPasskey && !useRecovery && (
        <p><Button kind="primary" busy={busy} onClick={() => void withPasskey()}>Use your passkey</Button></p>
      )}
      {expired ? (
        <p><Button onClick={onRestart}>Sign in again</Button></p>
      ) : (!hasApp && !useRecovery) ? null : (
        <form class="form" onSubmit={submit} noValidate>
          {useRecovery ? (
            <Field key="recovery" label="Recovery code" hint="One of the codes you saved when you set up the authenticator app. Each works once.">
              {(p) => <input {...p} autoComplete="off" autoCapitalize="none" spellcheck={false} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
            </Field>
          ) : (
            // A key each: the two inputs must not share one element (the code's maxLength would stay on it).
            <Field key="code" label="Code from your authenticator app" hint="The 6 digits the app shows for AllIN now.">
              {(p) => <input {...p} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9 ]*" maxLength={7} required value={code} onInput={(e) => setCode(e.currentTarget.value)} />}
            </Field>
          )}
          <Submit busy={busy} disabled={!code.trim()}>Verify</Submit>
        </form>
      )}
      <p class="aside">
        <button type="button" class="link-button" onClick={() => { setUseRecovery(!useRecovery); setCode(''); setError(null); }}>
          {useRecovery ? (hasApp ? 'Use the authenticator app instead' : 'Use your passkey instead') : (hasApp ? 'Lost your phone? Use a recovery code' : 'Lost your passkey? Use a recovery code')}
        </button>
        {' · '}<button type="button" class="link-button" onClick={onRestart}>Start over</button>
      </p>
    </Page>
  );
}

export function SignUp() {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<{ message: string }>('/api/auth/register', { name: name.trim(), email: email.trim(), password }, { anonymous: true });
      setDone(r.message);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (field: string) => (error instanceof ApiError && Array.isArray(error.details)
    ? (error.details as { field: string; message: string }[]).find((d) => d.field === `body.${field}`)?.message : undefined);

  if (done) {
    return (
      <Page title="Check your inbox" narrow>
        <p role="status">{done}</p>
        <p>We sent a confirmation link to <strong>{email.trim()}</strong>. Follow it, then sign in.</p>
        <DevOutboxHint email={email.trim()} />
        <p class="aside"><Link href={ROUTES.signIn}>Go to sign-in</Link></p>
      </Page>
    );
  }
  return (
    <Page title="Create your account" narrow>
      <Problem error={error} />
      <form class="form" onSubmit={submit} noValidate>
        <Field label="Your name">{(p) => <input {...p} autoComplete="name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <Field label="Email" error={fieldError('email')}>{(p) => <input {...p} type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
        <Field label="Password" hint={PASSWORD_HINT} error={fieldError('password')}>
          {(p) => <input {...p} type="password" autoComplete="new-password" required minLength={8} maxLength={128} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <Submit busy={busy}>Create account</Submit>
      </form>
      <p class="aside">Already have an account? <Link href={ROUTES.signIn}>Sign in</Link></p>
    </Page>
  );
}

function ResendVerification() {
  const [email, setEmail] = useState('');
  const [run, busy] = useAction();
  return (
    <form class="form" onSubmit={(e) => { e.preventDefault(); void run(() => api.post<{ message: string }>('/api/auth/resend-verification', { email: email.trim() }, { anonymous: true }), (r) => r?.message); }}>
      <Field label="Email">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
      <Submit busy={busy} kind="secondary">Send a new link</Submit>
    </form>
  );
}

/** The link mailed to a domain's administrator: nothing happens until they confirm. */
export function VerifySsoDomain() {
  const token = useHashToken();
  const [run, busy] = useAction();
  const [done, setDone] = useState<{ domain: string; workspace: string } | null>(null);
  return (
    <Page title="Verify a domain for single sign-on" narrow>
      {!token && <ErrorNote error={new Error('This link has no token. Open the link from the mail exactly as it is.')} />}
      {token && !done && (
        <>
          <p>An AllIN workspace asks to sign in the people of your domain through its identity provider. Confirm only if you administer the domain and know the workspace.</p>
          <p><Button kind="primary" busy={busy} onClick={() => run(async () => setDone(await api.post<{ domain: string; workspace: string }>('/api/sso/domains/verify', { token }, { anonymous: true })))}>Verify the domain</Button></p>
        </>
      )}
      {done && <p class="success" role="status">{done.domain} is verified for the workspace “{done.workspace}”.</p>}
    </Page>
  );
}

export function VerifyEmail({ signedIn }: { signedIn: boolean }) {
  const token = useHashToken();
  const [state, setState] = useState<{ status: 'working' } | { status: 'done' } | { status: 'failed'; error: unknown }>(
    token ? { status: 'working' } : { status: 'failed', error: new Error('This link has no token. Open the link from the mail exactly as it is, or ask for a new one.') },
  );
  const started = useRef(false);
  useEffect(() => {
    // A token works once: never send it twice.
    if (!token || started.current) return;
    started.current = true;
    api.post('/api/auth/verify-email', { token }, { anonymous: true }).then(() => setState({ status: 'done' }), (error: unknown) => setState({ status: 'failed', error }));
  }, [token]);

  return (
    <Page title="Confirm your email address" narrow>
      {state.status === 'working' && <Loading label="Confirming your address…" />}
      {state.status === 'done' && (
        <>
          <p class="success" role="status">Your email address is confirmed.</p>
          <p>{signedIn ? <Link href={ROUTES.posts} class="button button-primary">Continue</Link> : <Link href={ROUTES.signIn} class="button button-primary">Sign in</Link>}</p>
        </>
      )}
      {state.status === 'failed' && (
        <>
          <ErrorNote error={state.error} />
          <h2>Ask for a new link</h2>
          <ResendVerification />
        </>
      )}
    </Page>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setSent((await api.post<{ message: string }>('/api/auth/forgot-password', { email: email.trim() }, { anonymous: true })).message);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Page title="Reset your password" narrow>
      {sent ? (
        <>
          <p role="status">{sent}</p>
          <DevOutboxHint email={email.trim()} />
        </>
      ) : (
        <>
          <p>Give the address you sign in with; we mail you a link to choose a new password.</p>
          <Problem error={error} />
          <form class="form" onSubmit={submit} noValidate>
            <Field label="Email">{(p) => <input {...p} type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
            <Submit busy={busy}>Mail me a link</Submit>
          </form>
        </>
      )}
      <p class="aside"><Link href={ROUTES.signIn}>Back to sign-in</Link></p>
    </Page>
  );
}

export function ResetPassword() {
  const token = useHashToken();
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const mismatch = again !== '' && again !== password;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (mismatch || !token) return;
    setBusy(true);
    setError(null);
    try {
      await api.post('/api/auth/reset-password', { token, newPassword: password }, { anonymous: true });
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Page title="Choose a new password" narrow>
      {!token && <ErrorNote error={new Error('This link has no token. Open the link from the mail exactly as it is, or ask for a new one.')} />}
      {done ? (
        <>
          <p class="success" role="status">Your password is changed, and every session was signed out.</p>
          <p><Link href={ROUTES.signIn} class="button button-primary">Sign in</Link></p>
        </>
      ) : token && (
        <>
          <Problem error={error} />
          <form class="form" onSubmit={submit} noValidate>
            <Field label="New password" hint={PASSWORD_HINT}>{(p) => <input {...p} type="password" autoComplete="new-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}</Field>
            <Field label="New password again" error={mismatch ? 'The two passwords differ.' : undefined}>
              {(p) => <input {...p} type="password" autoComplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />}
            </Field>
            <Submit busy={busy} disabled={mismatch || password === ''}>Set the new password</Submit>
          </form>
        </>
      )}
      <p class="aside"><Link href={ROUTES.forgotPassword}>Ask for a new link</Link></p>
    </Page>
  );
}

/** Text with its links made clickable (links to this AllIN stay in the app). */
function Linkified({ text }: { text: string }) {
  const out: ComponentChildren[] = [];
  let at = 0;
  for (const m of text.matchAll(/https?:\/\/[^\s<>"]+/g)) {
    out.push(text.slice(at, m.index));
    const href = m[0];
    let sameOrigin = false;
    try { sameOrigin = new URL(href).origin === location.origin; } catch { /* not a URL */ }
    out.push(sameOrigin ? <Link href={href}>{href}</Link> : <a href={href} rel="noopener noreferrer">{href}</a>);
    at = m.index + href.length;
  }
  out.push(text.slice(at));
  return <>{out}</>;
}

export function DevMail() {
  const to = new URLSearchParams(location.search).get('to') ?? '';
  const mail = useLoad(() => api.get<{ mail: MailItem[] }>('/api/dev/mail', { anonymous: true, query: { limit: 20, to: to || undefined } }), [to]);
  const missing = mail.error instanceof ApiError && mail.error.status === 404;
  return (
    <Page title="Development mail outbox" actions={<Button small onClick={mail.reload}>Refresh</Button>}>
      <p>Mail that AllIN would have sent{to ? <> to <strong>{to}</strong></> : ''}, newest first. Only outside production, when no mail server is set.</p>
      {mail.loading && !mail.data && <Loading />}
      {missing ? <ErrorNote error={new Error('This AllIN has no development outbox (it runs in production, or mails through a server).')} />
        : mail.error ? <ErrorNote error={mail.error} retry={mail.reload} /> : null}
      {mail.data && mail.data.mail.length === 0 && <Empty>No mail yet.</Empty>}
      {mail.data && mail.data.mail.length > 0 && (
        <ol class="mail-list">
          {mail.data.mail.map((m) => (
            <li key={m.id} class="card">
              <h2 class="mail-subject">{m.subject}</h2>
              <p class="meta">To {m.to} · {dateTime(m.createdAt)}</p>
              <pre class="mail-text"><Linkified text={m.text} /></pre>
            </li>
          ))}
        </ol>
      )}
      <p class="aside"><Link href={ROUTES.signIn}>Go to sign-in</Link></p>
    </Page>
  );
}

interface InvitationPreview {
  workspace: { id: string; name: string };
  role: Role;
  email: string;
  invitedBy: string | null;
  expiresAt: string;
  forYou: boolean;
}

export function AcceptInvitation({ onAccepted }: { onAccepted: (workspaceId: string) => Promise<void> }) {
  const token = useHashToken();
  const [run, busy] = useAction();
  // What the invitation offers, read before accepting (the token travels in the body, not the URL).
  const preview = useLoad(async () => (token ? api.post<InvitationPreview>('/api/invitations/preview', { token }) : null), [token]);
  const accept = () => run(async () => {
    const r = await api.post<{ workspace: { id: string; name: string }; role: Role }>('/api/invitations/accept', { token });
    await onAccepted(r.workspace.id);
    toast.ok(`You joined ${r.workspace.name} as ${r.role}.`);
    navigate(ROUTES.posts);
  });
  const p = preview.data;
  return (
    <Page title="Invitation" narrow>
      {!token ? <ErrorNote error={new Error('This invitation link has no token. Open the link from the mail exactly as it is.')} />
        : preview.error ? <ErrorNote error={preview.error} />
          : !p ? <Loading />
            : (
              <>
                <p>
                  {p.invitedBy ?? 'A workspace admin'} invited <strong>{p.email}</strong> to <strong>{p.workspace.name}</strong> as {p.role}.
                  The invitation is valid until {dateTime(p.expiresAt)}.
                </p>
                {p.forYou
                  ? <Button kind="primary" busy={busy} onClick={accept}>Accept the invitation</Button>
                  : <ErrorNote error={new Error(`This invitation is for ${p.email}. Sign out, then sign in with that address to accept it.`)} />}
              </>
            )}
    </Page>
  );
}
