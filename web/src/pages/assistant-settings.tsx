// Settings → Assistant (owners and admins): the workspace's model provider, base URL, model and key (the key
// is never shown back: a stored one can only be replaced or removed), the monthly token budget and the brand
// voice; turning the assistant off; and the month's usage per member (or API key) and per feature.
import { useEffect, useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { dateTime } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { AssistantSettings, AssistantSettingsAnswer, AssistantSettingsBody, AssistantUsage, Member, Paged } from '../types.ts';
import { ConfirmButton, ErrorNote, Field, Loading, Submit, toast, useAction, useLoad } from '../ui.tsx';

type Provider = AssistantSettingsBody['provider'];
const DEFAULT_BASE: Record<Provider, string> = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' };
const FEATURE_WORDS: Record<string, string> = { draft: 'Drafts', rewrite: 'Rewrites', adapt: 'Adaptations', hashtags: 'Hashtags', translate: 'Translations' };

export function AssistantSettingsTab() {
  const { workspace } = useApp();
  const current = useLoad(() => api.get<AssistantSettingsAnswer>(wsPath(workspace, '/assistant/settings')), [workspace.id]);
  if (current.error) return <ErrorNote error={current.error} retry={current.reload} />;
  if (!current.data) return <Loading />;
  return (
    <>
      <p>The writing assistant helps in the composer: drafts, rewrites, a version for each network, hashtags and translations, each checked against the networks' rules.
        It uses the model provider you choose here; suggestions never go out unless a person uses them in a post.</p>
      {!current.data.settings && <p class="notice" role="note">The assistant is off. Choose a provider and model to turn it on.</p>}
      <SettingsForm key={current.data.settings?.updatedAt ?? 'none'} settings={current.data.settings} onSaved={(s) => current.setData({ settings: s, howToEnable: null })} />
      {current.data.settings && (
        <section class="danger-zone" aria-labelledby="assistant-off">
          <h2 id="assistant-off">Turn the assistant off</h2>
          <p>Its key is deleted; the usage history stays.</p>
          <ConfirmButton label="Turn the assistant off" question="Turn the writing assistant off and delete its key?" confirm="Turn off"
            onConfirm={async () => { await api.del(wsPath(workspace, '/assistant/settings')); toast.ok('The assistant is off.'); current.reload(); }} />
        </section>
      )}
      <Usage />
    </>
  );
}

function SettingsForm({ settings, onSaved }: { settings: AssistantSettings | null; onSaved: (s: AssistantSettings) => void }) {
  const { workspace, zone } = useApp();
  const [provider, setProvider] = useState<Provider>((settings?.provider as Provider | undefined) ?? 'openai');
  const [baseUrl, setBaseUrl] = useState(settings?.baseUrl ?? '');
  const [model, setModel] = useState(settings?.model ?? '');
  // A stored key is never shown: the field appears only to replace it.
  const [replacing, setReplacing] = useState(!settings?.hasApiKey);
  const [removeKey, setRemoveKey] = useState(false);
  const [apiKey, setApiKey] = useState('');
  const [budget, setBudget] = useState(settings ? String(settings.monthlyTokenBudget) : '');
  const [voiceNotes, setVoiceNotes] = useState(settings?.voiceNotes ?? '');
  const [examples, setExamples] = useState((settings?.examplePosts ?? []).join('\n\n'));
  const [vision, setVision] = useState(settings?.vision ?? false);
  const [run, busy] = useAction();
  useEffect(() => { if (!replacing) setApiKey(''); }, [replacing]);

  const save = (e: Event) => {
    e.preventDefault();
    const body: AssistantSettingsBody = {
      provider, model: model.trim(),
      ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
      // Left out: the stored key stays (the server refuses that when the provider or base URL change, and says so).
      ...(removeKey ? { apiKey: null } : replacing && apiKey.trim() ? { apiKey: apiKey.trim() } : {}),
      ...(budget.trim() ? { monthlyTokenBudget: Number(budget) } : {}),
      voiceNotes, vision,
      examplePosts: examples.split(/\n\s*\n/).map((x) => x.trim()).filter(Boolean),
    };
    void run(async () => {
      const s = await api.put<AssistantSettings>(wsPath(workspace, '/assistant/settings'), body);
      onSaved(s);
    }, 'Assistant settings saved.');
  };

  return (
    <form class="form card" onSubmit={save} aria-label="Assistant settings">
      <h2>Model provider</h2>
      <Field label="Provider">
        {(p) => (
          <select {...p} value={provider} onChange={(e) => setProvider(e.currentTarget.value as Provider)}>
            <option value="openai">OpenAI-compatible (OpenAI, Azure OpenAI, OpenRouter, Ollama, vLLM, LM Studio, llama.cpp)</option>
            <option value="anthropic">Anthropic</option>
          </select>
        )}
      </Field>
      <Field label="Base URL" hint={<>Empty for {DEFAULT_BASE[provider]}. A local server, e.g. Ollama at http://localhost:11434/v1, needs the operator to allow private addresses for AI providers (AI_ALLOW_PRIVATE_HOSTS).</>}>
        {(p) => <input {...p} type="url" maxLength={500} placeholder={DEFAULT_BASE[provider]} value={baseUrl} onInput={(e) => setBaseUrl(e.currentTarget.value)} />}
      </Field>
      <Field label="Model" hint="The name the provider knows, e.g. gpt-4o-mini, llama3.1, claude-sonnet-4-5.">
        {(p) => <input {...p} required maxLength={200} value={model} onInput={(e) => setModel(e.currentTarget.value)} />}
      </Field>
      {settings?.hasApiKey && !replacing && !removeKey && (
        <div class="row wrap">
          <span>A key is stored (it is never shown).</span>
          <button type="button" class="button button-secondary button-small" onClick={() => setReplacing(true)}>Replace key</button>
          <button type="button" class="button button-quiet button-small" onClick={() => setRemoveKey(true)}>Remove key</button>
        </div>
      )}
      {removeKey && (
        <div class="row wrap">
          <span>The stored key is removed when you save (a local model server may need none; Anthropic always does).</span>
          <button type="button" class="button button-quiet button-small" onClick={() => setRemoveKey(false)}>Keep it</button>
        </div>
      )}
      {replacing && !removeKey && (
        <Field label={settings?.hasApiKey ? 'New API key' : 'API key'} hint={settings?.hasApiKey ? 'Replaces the stored key when you save.' : 'Stored encrypted, never shown again. Leave empty for a local server that needs none.'}>
          {(p) => <input {...p} type="password" autoComplete="off" maxLength={500} value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />}
        </Field>
      )}
      {replacing && settings?.hasApiKey && <button type="button" class="button button-quiet button-small" onClick={() => setReplacing(false)}>Keep the stored key</button>}
      <label class="check">
        <input type="checkbox" checked={vision} onChange={(e) => setVision(e.currentTarget.checked)} /> Vision: it can see images
      </label>
      <p class="meta">Tick it for a vision-capable model (e.g. gpt-4o, Claude, llava): the composer then offers alt text suggestions, and sends the image to the model.</p>
      <h2>Budget and voice</h2>
      <Field label="Monthly token budget" hint="Input and output tokens the workspace may use per calendar month (UTC). Empty: the server's default.">
        {(p) => <input {...p} type="number" min={0} max={1_000_000_000} step={1} value={budget} onInput={(e) => setBudget(e.currentTarget.value)} />}
      </Field>
      <Field label="Brand voice notes (optional)" hint="How the brand writes: tone, words to use and avoid, emoji, audience.">
        {(p) => <textarea {...p} rows={3} maxLength={4000} value={voiceNotes} onInput={(e) => setVoiceNotes(e.currentTarget.value)} />}
      </Field>
      <Field label="Example posts (optional)" hint="Up to 10 posts that sound right, separated by a blank line.">
        {(p) => <textarea {...p} rows={5} value={examples} onInput={(e) => setExamples(e.currentTarget.value)} />}
      </Field>
      {settings && <p class="meta">Last saved {dateTime(settings.updatedAt, zone)}.</p>}
      <Submit busy={busy} disabled={!model.trim()}>{settings ? 'Save assistant settings' : 'Turn the assistant on'}</Submit>
    </form>
  );
}

function Usage() {
  const { workspace } = useApp();
  const [month, setMonth] = useState(() => new Date().toISOString().slice(0, 7));
  const usage = useLoad(() => api.get<AssistantUsage>(wsPath(workspace, '/assistant/usage'), { query: { month } }), [workspace.id, month]);
  const members = useLoad(() => getAll<Paged<'members', Member>>(wsPath(workspace, '/members'), 'members'), [workspace.id]);
  const nameOf = (r: AssistantUsage['byUser'][number]) => {
    if (r.apiKeyId) return `API key ${r.apiKeyId.slice(0, 8)}…`;
    const m = members.data?.members.find((x) => x.userId === r.userId);
    return m ? m.name : r.userId ? 'A former member' : 'Unknown';
  };
  const tokens = (r: { inputTokens: number; outputTokens: number }) => (r.inputTokens + r.outputTokens).toLocaleString();
  const u = usage.data;
  return (
    <section aria-labelledby="assistant-usage">
      <h2 id="assistant-usage">Usage</h2>
      <Field label="Month">{(p) => <input {...p} type="month" value={month} onChange={(e) => { if (e.currentTarget.value) setMonth(e.currentTarget.value); }} />}</Field>
      {usage.error ? <ErrorNote error={usage.error} retry={usage.reload} /> : null}
      {!u && !usage.error && <Loading />}
      {u && (
        <>
          <p>{u.total.requests.toLocaleString()} {u.total.requests === 1 ? 'request' : 'requests'}, {tokens(u.total)} tokens
            {u.monthlyTokenBudget !== null ? ` of a monthly budget of ${u.monthlyTokenBudget.toLocaleString()}` : ''}.</p>
          {u.byUser.length > 0 && (
            <table class="table table-compact" aria-label="Usage per member">
              <thead><tr><th scope="col">Member</th><th scope="col">Requests</th><th scope="col">Input tokens</th><th scope="col">Output tokens</th></tr></thead>
              <tbody>{u.byUser.map((r) => (
                <tr key={`${r.userId}-${r.apiKeyId}`}><td>{nameOf(r)}</td><td>{r.requests.toLocaleString()}</td><td>{r.inputTokens.toLocaleString()}</td><td>{r.outputTokens.toLocaleString()}</td></tr>
              ))}</tbody>
            </table>
          )}
          {u.byFeature.length > 0 && (
            <table class="table table-compact" aria-label="Usage per feature">
              <thead><tr><th scope="col">Feature</th><th scope="col">Requests</th><th scope="col">Input tokens</th><th scope="col">Output tokens</th></tr></thead>
              <tbody>{u.byFeature.map((r) => (
                <tr key={r.feature}><td>{FEATURE_WORDS[r.feature] ?? r.feature}</td><td>{r.requests.toLocaleString()}</td><td>{r.inputTokens.toLocaleString()}</td><td>{r.outputTokens.toLocaleString()}</td></tr>
              ))}</tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
