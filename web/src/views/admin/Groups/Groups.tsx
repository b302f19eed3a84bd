import { useState, type FormEvent } from 'react';
import type { GroupView, UserView } from '../../../protocol/generated';
import { addableUsers, userName } from '../../../viewmodels/admin';
import type { SectionProps } from '../types';
import { HeaderRow } from '../HeaderRow';

function People({
  title,
  list: role,
  group,
  users,
  actions,
  busy,
}: {
  title: string;
  list: 'members' | 'supervisors';
  group: GroupView;
  users: UserView[];
  actions: SectionProps['actions'];
  busy: boolean;
}) {
  const ids = role === 'members' ? group.members : group.supervisors;
  const candidates = addableUsers(users, ids);
  const [pick, setPick] = useState('');
  const selectId = `add-${role}`;
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (pick && (await actions.setGroupRole(group.id, role, pick, true))) setPick('');
  };
  return (
    <section aria-labelledby={`${role}-title`}>
      <h3 id={`${role}-title`}>{title}</h3>
      {ids.length ? (
        <ul className="admin-people" aria-label={title}>
          {ids.map((id) => (
            <li key={id}>
              {userName(users, id)}{' '}
              <button
                type="button"
                className="small"
                disabled={busy}
                aria-label={`Remove ${userName(users, id)} from ${title.toLowerCase()}`}
                onClick={() => void actions.setGroupRole(group.id, role, id, false)}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
      <form className="admin-inline" onSubmit={(e) => void add(e)}>
        <label htmlFor={selectId}>Add to {title.toLowerCase()}</label>
        <select id={selectId} value={pick} onChange={(e) => setPick(e.target.value)}>
          <option value="">Choose an account…</option>
          {candidates.map((u) => (
            <option key={u.id} value={u.id}>
              {u.display_name} ({u.username})
            </option>
          ))}
        </select>
        <button type="submit" disabled={busy || !pick}>
          Add
        </button>
      </form>
    </section>
  );
}

function OfferSettings({ group, groups, actions, busy }: { group: GroupView; groups: GroupView[]; actions: SectionProps['actions']; busy: boolean }) {
  const [wave, setWave] = useState(String(group.wave_size));
  const [answer, setAnswer] = useState(String(group.answer_secs));
  const [overflow, setOverflow] = useState(group.overflow_group_id ?? '');
  const [escalate, setEscalate] = useState(String(group.escalate_secs));
  const [toSupervisors, setToSupervisors] = useState(group.escalate_to_supervisors);
  const save = (e: FormEvent) => {
    e.preventDefault();
    void actions.updateGroup(group.id, {
      wave_size: Number(wave),
      answer_secs: Number(answer),
      overflow_group_id: overflow,
      escalate_secs: Number(escalate),
      escalate_to_supervisors: toSupervisors,
    });
  };
  return (
    <form className="admin-form" aria-labelledby="offer-title" onSubmit={save}>
      <h3 id="offer-title">Group consultation offers</h3>
      <label htmlFor="wave-size">Members offered per wave (1–100)</label>
      <input id="wave-size" type="number" min={1} max={100} value={wave} onChange={(e) => setWave(e.target.value)} />
      <label htmlFor="answer-secs">Seconds a wave waits for an answer (1–3600)</label>
      <input id="answer-secs" type="number" min={1} max={3600} value={answer} onChange={(e) => setAnswer(e.target.value)} />
      <label htmlFor="overflow-group">Overflow group</label>
      <select id="overflow-group" value={overflow} onChange={(e) => setOverflow(e.target.value)}>
        <option value="">None</option>
        {groups
          .filter((g) => g.id !== group.id)
          .map((g) => (
            <option key={g.id} value={g.id}>
              {g.name}
            </option>
          ))}
      </select>
      <label htmlFor="escalate-secs">Answer-time target in seconds, then escalate (0 for none, at most 86400)</label>
      <input id="escalate-secs" type="number" min={0} max={86400} value={escalate} onChange={(e) => setEscalate(e.target.value)} />
      <label>
        <input type="checkbox" checked={toSupervisors} onChange={(e) => setToSupervisors(e.target.checked)} /> At escalation, offer it to the group&apos;s supervisors at once
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Save offer settings
      </button>
    </form>
  );
}

/** Groups: the list, a new group, and the selected one's members, supervisors and offer settings. */
export function GroupsSection({ state, actions }: SectionProps) {
  const [name, setName] = useState('');
  const selected = state.groups.find((g) => g.id === state.selectedGroup) ?? null;
  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (await actions.createGroup(name)) setName('');
  };
  return (
    <div className="admin-columns">
      <div>
        <table className="admin-table" aria-label="Groups">
          <HeaderRow names={['Group', 'Members', 'Supervisors']} />
          <tbody>
            {state.groups.map((g) => (
              <tr key={g.id} className={g.id === state.selectedGroup ? 'selected' : undefined}>
                <td>
                  <button type="button" className="link" onClick={() => actions.selectGroup(g.id)}>
                    {g.name}
                  </button>
                </td>
                <td>{g.members.length}</td>
                <td>{g.supervisors.length}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <form className="admin-form" aria-labelledby="new-group-title" onSubmit={(e) => void create(e)}>
          <h2 id="new-group-title">New group</h2>
          <label htmlFor="new-group-name">Group name</label>
          <input id="new-group-name" value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="primary" disabled={state.busy || !name.trim()}>
            Create group
          </button>
        </form>
      </div>
      {selected && (
        <section className="admin-details" aria-labelledby="group-title">
          <h2 id="group-title">{selected.name}</h2>
          <People title="Members" list="members" group={selected} users={state.users} actions={actions} busy={state.busy} />
          <People title="Supervisors" list="supervisors" group={selected} users={state.users} actions={actions} busy={state.busy} />
          <OfferSettings key={`${selected.id}:${selected.wave_size}:${selected.answer_secs}:${selected.overflow_group_id}:${selected.escalate_secs}:${selected.escalate_to_supervisors}`} group={selected} groups={state.groups} actions={actions} busy={state.busy} />
        </section>
      )}
    </div>
  );
}
