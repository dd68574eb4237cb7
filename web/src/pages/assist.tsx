// The composer's Assist panel: the writing assistant (docs/ASSISTANT.md) drafts from a brief, rewrites,
// adapts the post to each chosen account's network, suggests hashtags and translates. The answer streams in
// as the model writes it (Server-Sent Events read with the session's token); each finished suggestion is
// shown with the problems the server's validation found in it. Nothing goes into the post until the person
// clicks "Use this" (for an adaptation: into that account's own text). Off, or out of tokens, it says so and
// what to do.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, postEventStream } from '../api.ts';
import { useApp, wsPath } from '../state.ts';
import type { Account, AssistantResult, AssistantStatus, SuggestionProblem } from '../types.ts';
import { Button, ErrorNote, Field, Link, Loading } from '../ui.tsx';

type Feature = 'draft' | 'rewrite' | 'adapt' | 'hashtags' | 'translate';
type Mode = 'shorter' | 'longer' | 'simpler' | 'tone';

const FEATURES: [Feature, string][] = [
  ['rewrite', 'Rewrite'], ['adapt', 'Adapt to each network'], ['draft', 'Draft from a brief'], ['hashtags', 'Hashtags'], ['translate', 'Translate'],
];
const MODES: [Mode, string][] = [['shorter', 'Shorter'], ['longer', 'Longer'], ['simpler', 'Simpler'], ['tone', 'Another tone']];

export interface AssistProps {
  /** The post's text (the "All networks" text). */
  text: string;
  accounts: Account[];
  mediaIds: string[];
  label: (a: Account) => string;
  /** Replace the post's text with a suggestion. */
  onUseText: (text: string) => void;
  /** Put a suggestion into one account's own text. */
  onUseVariant: (accountId: string, text: string) => void;
}

export function AssistPanel(props: AssistProps) {
  const { workspace } = useApp();
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState<AssistantStatus | null>(null);
  const [statusError, setStatusError] = useState<unknown>(null);
  const path = wsPath(workspace, '/assistant');
  // Asked when the panel is first opened: a composer that never opens it costs nothing.
  const loadStatus = () => {
    setStatusError(null);
    api.get<AssistantStatus>(path).then(setStatus, setStatusError);
  };
  return (
    <details class="card assist" onToggle={(e) => {
      const isOpen = (e.currentTarget as HTMLDetailsElement).open;
      setOpen(isOpen);
      if (isOpen && !status) loadStatus();
    }}>
      <summary>Assist: write with the assistant</summary>
      {open && (statusError ? <ErrorNote error={statusError} retry={loadStatus} />
        : !status ? <Loading />
          : !status.enabled ? <Off />
            : <Ask {...props} status={status} onOff={() => setStatus({ ...status, enabled: false })} />)}
    </details>
  );
}

/** Off: admins get the way to the settings, everyone else whom to ask. */
function Off() {
  const { can } = useApp();
  return (
    <div class="notice" role="note">
      <p><strong>The writing assistant is off in this workspace.</strong></p>
      {can('assistant.manage')
        ? <p>Turn it on with a model provider of your choice (OpenAI-compatible, such as OpenAI, OpenRouter or a local Ollama, or Anthropic) in <Link href="/settings/assistant">Settings → Assistant</Link>.</p>
        : <p>Ask an owner or admin of the workspace to turn it on in Settings → Assistant.</p>}
    </div>
  );
}

function BudgetSpent({ message }: { message?: string }) {
  const { can } = useApp();
  return (
    <div class="notice" role="note">
      <p><strong>This month's assistant tokens are used up.</strong> {message ?? 'Nothing more is sent to the model until the budget renews next month.'}</p>
      {can('assistant.manage')
        ? <p>Raise the monthly budget in <Link href="/settings/assistant">Settings → Assistant</Link>.</p>
        : <p>An owner or admin can raise the monthly budget.</p>}
    </div>
  );
}

interface Streaming { text: string; retry?: SuggestionProblem[] }

function Ask({ text, accounts, mediaIds, label, onUseText, onUseVariant, status, onOff }: AssistProps & { status: AssistantStatus; onOff: () => void }) {
  const { workspace } = useApp();
  const [feature, setFeature] = useState<Feature>('rewrite');
  const [mode, setMode] = useState<Mode>('shorter');
  const [tone, setTone] = useState('');
  const [brief, setBrief] = useState('');
  const [language, setLanguage] = useState('');
  const [count, setCount] = useState(5);
  const [streaming, setStreaming] = useState<Streaming[] | null>(null);
  const [result, setResult] = useState<AssistantResult | null>(null);
  const [used, setUsed] = useState<Set<number>>(new Set());
  const [error, setError] = useState<unknown>(null);
  const [spent, setSpent] = useState<string | null>(status.monthlyTokenBudget !== null && status.usedThisMonth >= status.monthlyTokenBudget ? '' : null);
  const ctl = useRef<AbortController | null>(null);
  useEffect(() => () => ctl.current?.abort(), []);

  const busy = streaming !== null;
  const needsText = feature !== 'draft';
  const missing = needsText && !text.trim() ? 'Write the post first: the assistant works on its text.'
    : feature === 'draft' && !brief.trim() ? 'Say what the post should be about.'
      : feature === 'adapt' && accounts.length === 0 ? 'Choose the accounts to adapt the post to.'
        : feature === 'rewrite' && mode === 'tone' && !tone.trim() ? 'Say which tone.'
          : feature === 'translate' && language.trim().length < 2 ? 'Say which language.' : null;

  const body = () => {
    const common = { accountIds: accounts.map((a) => a.id), ...(mediaIds.length ? { mediaIds } : {}) };
    switch (feature) {
      case 'draft': return { brief: brief.trim(), ...common };
      case 'rewrite': return { text, mode, ...(mode === 'tone' ? { tone: tone.trim() } : {}), ...common };
      case 'adapt': return { text, ...common };
      case 'hashtags': return { text, count, ...common };
      case 'translate': return { text, language: language.trim(), ...common };
    }
  };

  const ask = async () => {
    if (missing || busy) return;
    ctl.current?.abort();
    const c = new AbortController();
    ctl.current = c;
    setError(null);
    setResult(null);
    setUsed(new Set());
    setStreaming([]);
    const at = (list: Streaming[], i: number) => { const next = [...list]; next[i] ??= { text: '' }; return next; };
    try {
      let finished = false;
      await postEventStream(wsPath(workspace, `/assistant/${feature}`), body(), (type, data) => {
        if (type === 'delta') {
          const d = data as { index: number; text: string };
          setStreaming((s) => { const n = at(s ?? [], d.index); n[d.index] = { ...n[d.index]!, text: n[d.index]!.text + d.text }; return n; });
        } else if (type === 'retry') {
          // The model is asked again: its text streams anew from the start.
          const r = data as { index: number; problems: SuggestionProblem[] };
          setStreaming((s) => { const n = at(s ?? [], r.index); n[r.index] = { text: '', retry: r.problems }; return n; });
        } else if (type === 'result') {
          finished = true;
          setResult(data as AssistantResult);
        } else if (type === 'error') {
          finished = true;
          const e = data as { statusCode: number; code: string; message: string; details?: unknown; requestId?: string };
          throw new ApiError(e.statusCode, e.code, e.message, e.details, e.requestId);
        }
      }, c.signal);
      if (!finished && !c.signal.aborted) throw new ApiError(0, 'STREAM_ENDED', 'The answer stopped before it was complete; try again.');
    } catch (err) {
      if (c.signal.aborted) return;
      if (err instanceof ApiError && err.code === 'ASSISTANT_OFF') return onOff();
      if (err instanceof ApiError && err.code === 'AI_BUDGET_EXHAUSTED') return setSpent(err.message);
      setError(err);
    } finally {
      if (ctl.current === c) {
        ctl.current = null;
        setStreaming(null);
      }
    }
  };
  const stop = () => { ctl.current?.abort(); ctl.current = null; setStreaming(null); };

  const accountOf = (id: string | null) => accounts.find((a) => a.id === id);
  const use = (i: number, accountId: string | null, t: string) => {
    if (accountId) onUseVariant(accountId, t);
    else onUseText(t);
    setUsed((u) => new Set(u).add(i));
  };

  if (spent !== null) return <BudgetSpent {...(spent ? { message: spent } : {})} />;
  return (
    <div class="assist-body">
      <p class="meta">Suggestions from {status.model} ({status.provider}). They are checked against each chosen network's rules; nothing changes in the post until you choose “Use this”.</p>
      <div class="choices choices-inline" role="radiogroup" aria-label="What the assistant should do">
        {FEATURES.map(([v, l]) => (
          <span key={v}>
            <input type="radio" name="assist-feature" id={`assist-${v}`} value={v} checked={feature === v} onChange={() => setFeature(v)} />
            <label for={`assist-${v}`}>{l}</label>
          </span>
        ))}
      </div>
      {/* Enter in these fields asks the assistant; it must not submit the composer's form around them. */}
      <div class="row wrap" onKeyDown={(e) => { if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') { e.preventDefault(); void ask(); } }}>
        {feature === 'draft' && <Field label="Brief" hint="What the post should say: the news, the audience, a link.">{(p) => <textarea {...p} rows={3} maxLength={4000} value={brief} onInput={(e) => setBrief(e.currentTarget.value)} />}</Field>}
        {feature === 'rewrite' && (
          <Field label="Rewrite">
            {(p) => <select {...p} value={mode} onChange={(e) => setMode(e.currentTarget.value as Mode)}>{MODES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}</select>}
          </Field>
        )}
        {feature === 'rewrite' && mode === 'tone' && <Field label="Tone" hint="e.g. playful, formal, warm">{(p) => <input {...p} maxLength={100} value={tone} onInput={(e) => setTone(e.currentTarget.value)} />}</Field>}
        {feature === 'translate' && <Field label="Language" hint="e.g. German, pt-BR">{(p) => <input {...p} maxLength={60} value={language} onInput={(e) => setLanguage(e.currentTarget.value)} />}</Field>}
        {feature === 'hashtags' && <Field label="How many hashtags">{(p) => <input {...p} type="number" min={1} max={30} value={count} onInput={(e) => setCount(Math.min(30, Math.max(1, Number(e.currentTarget.value) || 5)))} />}</Field>}
      </div>
      {feature === 'adapt' && accounts.length > 0 && <p class="hint">One version for each of: {accounts.map(label).join(', ')}.</p>}
      <div class="row">
        <Button kind="primary" busy={busy} disabled={missing !== null} onClick={() => void ask()}>Ask the assistant</Button>
        {busy && <Button kind="quiet" onClick={stop}>Stop</Button>}
        {missing && !busy && <span class="hint">{missing}</span>}
      </div>
      {error ? <ErrorNote error={error} /> : null}

      {streaming && (
        <div class="assist-stream" role="status" aria-busy="true" aria-label="The assistant is writing">
          {streaming.length === 0 && <p class="meta">Waiting for the model…</p>}
          {streaming.map((s, i) => (
            <div key={i} class="suggestion">
              {s.retry && <p class="meta">The first answer did not fit ({s.retry.map((p) => p.message).join(' ')}); asking again with the reason…</p>}
              <p class="suggestion-text">{s.text}</p>
            </div>
          ))}
        </div>
      )}

      {result && (
        <ul class="suggestions" aria-label="Suggestions">
          {result.suggestions.map((s, i) => {
            const a = accountOf(s.accountId);
            const title = a ? `For ${label(a)}` : result.suggestions.length > 1 ? `Suggestion ${i + 1}` : 'Suggestion';
            return (
              <li key={i} class={s.problems.length ? 'suggestion suggestion-flagged' : 'suggestion'} aria-label={title}>
                <h3>{title}</h3>
                <p class="suggestion-text">{s.text}</p>
                {s.hashtags && <p class="meta">Hashtags: {s.hashtags.join(' ')}</p>}
                {s.problems.length > 0
                  ? (
                    <>
                      <p class="field-error">{s.retried ? 'Still does not fit after one retry:' : 'Does not fit:'}</p>
                      <ul class="problems" aria-label="Problems">{s.problems.map((p, j) => <li key={j}>{p.message}</li>)}</ul>
                    </>
                  )
                  : <p class="meta">Fits {a ? label(a) : accounts.length ? 'every chosen account' : 'as it is (choose accounts to check it against their networks)'}{s.retried ? ' (on the second try)' : ''}.</p>}
                <div class="row">
                  <Button small kind={used.has(i) ? 'quiet' : 'secondary'} label={`Use this${a ? ` for ${label(a)}` : ''}`} onClick={() => use(i, s.accountId, s.text)}>
                    {used.has(i) ? 'Used ✓' : 'Use this'}
                  </Button>
                  {used.has(i) && <span class="meta" role="status">{a ? `Now the text for ${label(a)}.` : 'Now the post\'s text.'}</span>}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {result && <p class="meta">{(result.usage.inputTokens + result.usage.outputTokens).toLocaleString()} tokens used.</p>}
    </div>
  );
}

/**
 * The inbox reply box's "Suggest a reply": the assistant reads the conversation (as material, never as
 * instructions) and the workspace's saved replies, and answers one reply checked by the network's reply
 * rules. It goes into the reply box only on "Use this"; sending stays the person's click.
 */
export function SuggestReply({ conversationId, messageId, onUse }: { conversationId: string; messageId: string; onUse: (text: string) => void }) {
  const { workspace } = useApp();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<AssistantResult | null>(null);
  const [refusal, setRefusal] = useState<'off' | { spent: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Another message or conversation: the suggestion was for the one before.
  useEffect(() => { setResult(null); setError(null); }, [conversationId, messageId]);
  const ask = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.post<AssistantResult>(wsPath(workspace, '/assistant/reply'), { conversationId, messageId }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ASSISTANT_OFF') setRefusal('off');
      else if (err instanceof ApiError && err.code === 'AI_BUDGET_EXHAUSTED') setRefusal({ spent: err.message });
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (refusal === 'off') return <Off />;
  if (refusal) return <BudgetSpent message={refusal.spent} />;
  const s = result?.suggestions[0];
  return (
    <div class="assist-reply">
      <Button small busy={busy} onClick={() => void ask()}>Suggest a reply</Button>
      {error ? <ErrorNote error={error} /> : null}
      {s && (
        <div class={s.problems.length ? 'suggestion suggestion-flagged' : 'suggestion'} role="group" aria-label="Suggested reply">
          <p class="suggestion-text">{s.text}</p>
          {s.problems.length > 0 && <ul class="problems" aria-label="Problems">{s.problems.map((p, j) => <li key={j}>{p.message}</li>)}</ul>}
          <div class="row">
            <Button small onClick={() => { onUse(s.text); setResult(null); }}>Use this</Button>
            <span class="meta">It goes into the reply box; nothing is sent until you send it.</span>
          </div>
        </div>
      )}
    </div>
  );
}

/**
 * The composer's "Suggest alt text" beside an image's alt text field: the workspace's model, when it can see,
 * describes the image (the post's text as context). The field changes only on "Use this".
 */
export function SuggestAltText({ mediaId, postText, onUse }: { mediaId: string; postText: string; onUse: (text: string) => void }) {
  const { workspace } = useApp();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<AssistantResult | null>(null);
  const [refusal, setRefusal] = useState<'off' | { spent: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ask = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.post<AssistantResult>(wsPath(workspace, '/assistant/alt-text'), { mediaId, ...(postText.trim() ? { text: postText } : {}) }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'ASSISTANT_OFF') setRefusal('off');
      else if (err instanceof ApiError && err.code === 'AI_BUDGET_EXHAUSTED') setRefusal({ spent: err.message });
      else setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (refusal === 'off') return <Off />;
  if (refusal) return <BudgetSpent message={refusal.spent} />;
  const s = result?.suggestions[0];
  return (
    <div class="assist-alt">
      <Button small kind="quiet" busy={busy} onClick={() => void ask()}>Suggest alt text</Button>
      {error ? <ErrorNote error={error} /> : null}
      {s && (
        <div class={s.problems.length ? 'suggestion suggestion-flagged' : 'suggestion'} role="group" aria-label="Suggested alt text">
          <p class="suggestion-text">{s.text}</p>
          {s.problems.length > 0 && <ul class="problems" aria-label="Problems">{s.problems.map((p, j) => <li key={j}>{p.message}</li>)}</ul>}
          <div class="row">
            <Button small onClick={() => { onUse(s.text); setResult(null); }}>Use this</Button>
            <span class="meta">It becomes the image's alt text.</span>
          </div>
        </div>
      )}
    </div>
  );
}
