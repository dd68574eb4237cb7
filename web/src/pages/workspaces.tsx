// Workspaces: the first one (a new account has none), the list with roles, creating another.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { ROLE_WORDS } from '../format.ts';
import type { Me, Workspace } from '../types.ts';
import { Button, Field, Page, Submit, toast, useAction } from '../ui.tsx';

function CreateWorkspace({ onCreated, label }: { onCreated: (id: string) => Promise<void> | void; label: string }) {
  const [name, setName] = useState('');
  const [run, busy] = useAction();
  return (
    <form class="form" onSubmit={(e) => {
      e.preventDefault();
      void run(async () => {
        const ws = await api.post<Workspace>('/api/workspaces', { name: name.trim() });
        setName('');
        await onCreated(ws.id);
        toast.ok(`Workspace ${ws.name} created.`);
      });
    }}>
      <Field label="Workspace name" hint="Your team, brand or client, e.g. “Acme marketing”.">
        {(p) => <input {...p} required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />}
      </Field>
      <Submit busy={busy} disabled={!name.trim()}>{label}</Submit>
    </form>
  );
}

export function FirstWorkspace({ onCreated }: { onCreated: (id: string) => Promise<void> }) {
  return (
    <Page title="Create your first workspace" narrow>
      <p>A workspace holds your team's social accounts, posts and settings. You can invite others to it afterwards.</p>
      <CreateWorkspace onCreated={onCreated} label="Create workspace" />
    </Page>
  );
}

export function Workspaces({ me, current, onChanged, onSwitch }: { me: Me; current: string | null; onChanged: () => Promise<void>; onSwitch: (id: string) => void }) {
  return (
    <Page title="Workspaces">
      {me.workspaces.length === 0 ? <p>You are not in any workspace yet.</p> : (
        <ul class="list">
          {me.workspaces.map((w) => (
            <li key={w.id} class="list-item">
              <div>
                <strong>{w.name}</strong> <span class="meta">{ROLE_WORDS[w.role] ?? w.role}{w.id === current ? ' · current' : ''}</span>
              </div>
              {w.id !== current && <Button small onClick={() => onSwitch(w.id)}>Open</Button>}
            </li>
          ))}
        </ul>
      )}
      <h2>New workspace</h2>
      <CreateWorkspace onCreated={async (id) => { await onChanged(); onSwitch(id); }} label="Create workspace" />
    </Page>
  );
}
