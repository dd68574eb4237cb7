// Members, roles and invitations. Owners and admins invite and change roles (admins cannot touch
// owners: the API refuses, so the app does not offer it); anyone may leave, except the last owner.
import { useState } from 'preact/hooks';
import { api, getAll } from '../api.ts';
import { navigate } from '../router.ts';
import { dateTime, ROLE_WORDS } from '../format.ts';
import { useApp, wsPath } from '../state.ts';
import type { Invitation, Member, Paged, Role } from '../types.ts';
import { Button, ConfirmButton, Empty, ErrorNote, Field, Loading, Page, Submit, toast, useAction, useLoad } from '../ui.tsx';

const ROLES: Role[] = ['owner', 'admin', 'editor', 'viewer'];
const ROLE_HINTS: Record<Role, string> = {
  owner: 'everything, including deleting the workspace',
  admin: 'everything but owners, deleting and transferring',
  editor: 'writes and schedules posts (submits them when approval is required)',
  viewer: 'reads posts, the calendar and results',
};

export function Members() {
  const { workspace, me, can, reloadMe } = useApp();
  const members = useLoad(() => getAll<Paged<'members', Member>>(wsPath(workspace, '/members'), 'members'), [workspace.id]);
  const invitations = useLoad(() => getAll<Paged<'invitations', Invitation>>(wsPath(workspace, '/invitations'), 'invitations'), [workspace.id]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [run, busy] = useAction();
  const manage = can('members.manage');
  const iAmOwner = workspace.role === 'owner';
  const offered = ROLES.filter((r) => iAmOwner || r !== 'owner');

  const changeRole = (m: Member, r: Role) => run(async () => {
    await api.patch(wsPath(workspace, `/members/${m.userId}`), { role: r });
    if (m.userId === me.id) await reloadMe();
  }, `${m.name} is now ${ROLE_WORDS[r]?.toLowerCase()}.`).then(() => members.reload());

  return (
    <Page title="Members">
      <h2>People in {workspace.name}</h2>
      {members.loading && !members.data && <Loading />}
      {members.error ? <ErrorNote error={members.error} retry={members.reload} /> : null}
      {members.data && (
        <table class="table">
          <caption class="visually-hidden">Members and their roles</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {members.data.members.map((m) => {
              const self = m.userId === me.id;
              const editable = manage && !self && (iAmOwner || m.role !== 'owner');
              return (
                <tr key={m.userId}>
                  <td>{m.name}{self ? ' (you)' : ''}</td>
                  <td>{m.email}</td>
                  <td>
                    {editable ? (
                      <>
                        <label class="visually-hidden" for={`role-${m.userId}`}>Role of {m.name}</label>
                        <select id={`role-${m.userId}`} value={m.role} disabled={busy} onChange={(e) => void changeRole(m, e.currentTarget.value as Role)}>
                          {offered.map((r) => <option key={r} value={r}>{ROLE_WORDS[r]}</option>)}
                        </select>
                      </>
                    ) : ROLE_WORDS[m.role]}
                  </td>
                  <td class="actions">
                    {editable && (
                      <ConfirmButton small label="Remove" question={`Remove ${m.name} from ${workspace.name}? The API keys they created here are revoked.`} confirm="Remove"
                        onConfirm={async () => { await api.del(wsPath(workspace, `/members/${m.userId}`)); toast.ok(`${m.name} removed.`); members.reload(); }} />
                    )}
                    {self && (
                      <ConfirmButton small label="Leave" question={`Leave ${workspace.name}? You lose access to it until someone invites you again.`} confirm="Leave workspace"
                        onConfirm={async () => { await api.del(wsPath(workspace, `/members/${m.userId}`)); toast.ok(`You left ${workspace.name}.`); await reloadMe(); navigate('/workspaces'); }} />
                    )}
                    {iAmOwner && !self && m.role !== 'owner' && (
                      <ConfirmButton small kind="secondary" label="Make owner" question={`Transfer ownership to ${m.name}? They become owner and you become admin.`} confirm="Transfer ownership"
                        onConfirm={async () => { await api.post(wsPath(workspace, '/transfer-ownership'), { userId: m.userId }); toast.ok(`${m.name} is now the owner.`); await reloadMe(); members.reload(); }} />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <h2>Invitations</h2>
      {invitations.loading && !invitations.data && <Loading />}
      {invitations.error ? <ErrorNote error={invitations.error} retry={invitations.reload} /> : null}
      {invitations.data && invitations.data.invitations.length === 0 && <Empty>No pending invitation.</Empty>}
      {invitations.data && invitations.data.invitations.length > 0 && (
        <ul class="list" aria-label="Pending invitations">
          {invitations.data.invitations.map((i) => (
            <li key={i.id} class="list-item">
              <div class="grow"><strong>{i.email}</strong> <span class="meta">as {ROLE_WORDS[i.role]?.toLowerCase()} · expires {dateTime(i.expiresAt)}</span></div>
              {manage && (iAmOwner || i.role !== 'owner') && (
                <Button small kind="quiet" label={`Revoke the invitation of ${i.email}`} onClick={() => run(async () => { await api.del(wsPath(workspace, `/invitations/${i.id}`)); invitations.reload(); }, 'Invitation revoked.')}>Revoke</Button>
              )}
            </li>
          ))}
        </ul>
      )}
      {manage && (
        <form class="form card" onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await api.post(wsPath(workspace, '/invitations'), { email: email.trim(), role });
            setEmail('');
            invitations.reload();
          }, `Invitation mailed to ${email.trim()}.`);
        }}>
          <h3>Invite someone</h3>
          <Field label="Email">{(p) => <input {...p} type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field>
          <Field label="Role" hint={ROLE_HINTS[role]}>
            {(p) => <select {...p} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>{offered.map((r) => <option key={r} value={r}>{ROLE_WORDS[r]}</option>)}</select>}
          </Field>
          <Submit busy={busy} disabled={!email.trim()}>Send invitation</Submit>
        </form>
      )}
    </Page>
  );
}
