import { useState, type FormEvent } from 'react';
import type { Role, UserView } from '../../../protocol/generated';
import { newAccountProblem, ROLE_LABELS, ROLES, rolesText } from '../../../viewmodels/admin';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

function RoleChoices({ legend, roles, onChange, idPrefix }: { legend: string; roles: Role[]; onChange: (r: Role[]) => void; idPrefix: string }) {
  return (
    <fieldset className="admin-choices">
      <legend>{legend}</legend>
      {ROLES.map((r) => (
        <label key={r} htmlFor={`${idPrefix}-${r}`}>
          <input
            id={`${idPrefix}-${r}`}
            type="checkbox"
            checked={roles.includes(r)}
            onChange={(e) => onChange(e.target.checked ? [...roles, r] : roles.filter((x) => x !== r))}
          />{' '}
          {ROLE_LABELS[r]}
        </label>
      ))}
    </fieldset>
  );
}

function CreateAccount({ actions, busy }: { actions: SectionProps['actions']; busy: boolean }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Role[]>(['agent']);
  const [im, setIm] = useState(true);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const p = newAccountProblem(username, displayName, password, roles);
    setProblem(p);
    if (p) return;
    if (await actions.createUser({ username: username.trim(), display_name: displayName, password, roles, im_permitted: im })) {
      setUsername('');
      setDisplayName('');
      setPassword('');
      setRoles(['agent']);
      setIm(true);
    }
  };
  return (
    <form className="admin-form" aria-labelledby="new-account-title" onSubmit={(e) => void submit(e)}>
      <h2 id="new-account-title">New account</h2>
      <label htmlFor="new-username">Username</label>
      <input id="new-username" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
      <label htmlFor="new-display-name">Display name</label>
      <input id="new-display-name" autoComplete="off" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      <label htmlFor="new-password">Initial password</label>
      <input id="new-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <RoleChoices legend="Roles" roles={roles} onChange={setRoles} idPrefix="new-role" />
      <label htmlFor="new-im">
        <input id="new-im" type="checkbox" checked={im} onChange={(e) => setIm(e.target.checked)} /> Internal IM permission
      </label>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        Create account
      </button>
    </form>
  );
}

function AccountDetails({ user, actions, busy }: { user: UserView; actions: SectionProps['actions']; busy: boolean }) {
  const [displayName, setDisplayName] = useState(user.display_name);
  const [roles, setRoles] = useState<Role[]>(user.roles);
  const [im, setIm] = useState(user.im_permitted);
  const [password, setPassword] = useState('');
  const save = (e: FormEvent) => {
    e.preventDefault();
    void actions.updateUser(user.id, { display_name: displayName, roles, im_permitted: im }, `${user.username} saved.`);
  };
  const reset = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.resetPassword(user.id, password)) setPassword('');
  };
  return (
    <section className="admin-details" aria-labelledby="account-title">
      <h2 id="account-title">
        {user.display_name} <span className="muted">({user.username})</span>
      </h2>
      <p>
        {user.disabled ? 'Disabled' : 'Active'} · Groups: {user.groups.length ? user.groups.map((g) => g.name).join(', ') : 'none'}
      </p>
      <form className="admin-form" aria-label={`Profile of ${user.username}`} onSubmit={save}>
        <label htmlFor="edit-display-name">Display name</label>
        <input id="edit-display-name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        <RoleChoices legend="Roles" roles={roles} onChange={setRoles} idPrefix="edit-role" />
        <label htmlFor="edit-im">
          <input id="edit-im" type="checkbox" checked={im} onChange={(e) => setIm(e.target.checked)} /> Internal IM permission
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
      </form>
      <form className="admin-form" aria-label={`Reset the password of ${user.username}`} onSubmit={(e) => void reset(e)}>
        <label htmlFor="reset-password">New password</label>
        <input id="reset-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" disabled={busy || !password}>
          Reset password
        </button>
      </form>
      <div className="admin-actions">
        {user.disabled ? (
          <button type="button" disabled={busy} onClick={() => void actions.setDisabled(user.id, false)}>
            Enable account
          </button>
        ) : (
          <button type="button" className="danger" disabled={busy} onClick={() => void actions.setDisabled(user.id, true)}>
            Disable account
          </button>
        )}
      </div>
    </section>
  );
}

/** Accounts: the list, a new account, and the selected one's profile, roles, IM permission, password and state. */
export function AccountsSection({ state, actions }: SectionProps) {
  const selected = state.users.find((u) => u.id === state.selectedUser) ?? null;
  return (
    <div className="admin-columns">
      <div>
        <table className="admin-table" aria-label="Accounts">
          <HeaderRow names={['Account', 'Roles', 'Internal IM', 'State']} />
          <tbody>
            {state.users.map((u) => (
              <tr key={u.id} className={u.id === state.selectedUser ? 'selected' : undefined}>
                <td>
                  <button type="button" className="link" onClick={() => actions.selectUser(u.id)}>
                    {u.username}
                  </button>{' '}
                  <span className="muted">{u.display_name}</span>
                </td>
                <td>{rolesText(u.roles)}</td>
                <td>{u.im_permitted ? 'Yes' : 'No'}</td>
                <td>{u.disabled ? 'Disabled' : 'Active'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div>
        {selected ? <AccountDetails key={`${selected.id}:${selected.display_name}:${selected.roles.join()}:${selected.im_permitted}`} user={selected} actions={actions} busy={state.busy} /> : null}
        <CreateAccount actions={actions} busy={state.busy} />
      </div>
    </div>
  );
}
