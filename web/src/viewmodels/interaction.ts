// View models of the interaction window and of the consultation data shown beside an IM transcript.
import { useMemo } from 'react';
import type { CaseDataItem, ErrorCode, InteractionView, Media, SessionView, Snippet } from '../protocol/generated';
import type { AppState } from '../models/app';
import {
  MEDIA_ICONS,
  consultationShared,
  contactDisplayName,
  contactFullName,
  emptyDetails,
  historyAgents,
  historyOrder,
  interactionSummary,
  isSearching,
  mediaLabel,
  type HistoryQuery,
  type InteractionDetails,
  type Loadable,
} from '../models/interactions';
import { formatDateTime } from './format';
import { useAppState, useModel } from './context';

export function loadError(l: Loadable<unknown>, what: string): string {
  switch (l.code as ErrorCode | null) {
    case 'not_shared':
      return 'This interaction is not shared with you.';
    case 'interaction_not_found':
      return 'This interaction no longer exists.';
    case 'contact_not_found':
      return 'No contact is attached to this interaction.';
    default:
      return `Could not load ${what}: ${l.error ?? 'unknown error'}`;
  }
}

export type ContactVM =
  | { status: 'loading' }
  | { status: 'none' | 'error'; message: string }
  | { status: 'ready'; name: string; phones: string[]; emails: string[]; attributes: CaseDataItem[] };

export interface HistoryTranscriptVM {
  key: string;
  title: string;
  text: string;
  attachedAt: string;
}

export interface HistoryRowVM {
  key: string;
  interactionId: string;
  media: Media;
  mediaLabel: string;
  icon: string;
  time: string;
  ts: number;
  agent: string;
  subject: string;
  outcome: string | null;
  notes: string | null;
  state: string;
  transcripts: HistoryTranscriptVM[];
  /** The interaction this window is about. */
  current: boolean;
  snippet: Snippet | null;
}

export interface HistoryVM {
  status: 'loading' | 'ready' | 'error';
  /** Still showing the previous answer while a new search runs. */
  refreshing: boolean;
  message: string | null;
  rows: HistoryRowVM[];
  query: HistoryQuery;
  searching: boolean;
  agents: { id: string; name: string }[];
}

export interface InteractionTabsVM {
  interactionId: string;
  readOnly: boolean;
  caseData: CaseDataItem[];
  contact: ContactVM;
  history: HistoryVM;
}

export function contactVM(d: InteractionDetails): ContactVM {
  const c = d.contact;
  if (c.status === 'ready' && c.data) {
    return { status: 'ready', name: contactFullName(c.data), phones: c.data.phones, emails: c.data.emails, attributes: c.data.attributes };
  }
  if (c.status === 'error') return { status: c.code === 'contact_not_found' ? 'none' : 'error', message: loadError(c, 'the contact') };
  return { status: 'loading' };
}

export function historyVM(d: InteractionDetails, currentId: string): HistoryVM {
  const h = d.history;
  const items = historyOrder(h.data ?? []);
  const searching = isSearching(d.historyShown);
  const rows: HistoryRowVM[] = items.map((it) => ({
    key: it.interaction_id,
    interactionId: it.interaction_id,
    media: it.media,
    mediaLabel: mediaLabel(it.media),
    icon: MEDIA_ICONS[it.media] ?? '•',
    time: formatDateTime(it.created_at),
    ts: it.created_at,
    agent: it.agent_name ?? '—',
    subject: it.subject,
    outcome: it.outcome,
    notes: it.notes,
    state: it.state === 'ended' ? 'Ended' : 'Active',
    transcripts: it.transcripts.map((t, i) => ({
      key: `${it.interaction_id}-${t.session_id ?? i}-${t.attached_at}`,
      title: t.title,
      text: t.text,
      attachedAt: formatDateTime(t.attached_at),
    })),
    current: it.interaction_id === currentId,
    snippet: searching ? it.snippet : null,
  }));
  return {
    status: h.status === 'error' ? 'error' : h.data !== null ? 'ready' : 'loading',
    refreshing: h.status === 'loading' && h.data !== null,
    message: h.status === 'error' ? loadError(h, 'the contact history') : null,
    rows,
    query: d.historyQuery,
    searching,
    agents: historyAgents(h.data ?? []),
  };
}

export function tabsVM(interaction: InteractionView, d: InteractionDetails | undefined): InteractionTabsVM {
  const det = d ?? emptyDetails();
  return {
    interactionId: interaction.id,
    readOnly: interaction.read_only,
    caseData: interaction.case_data,
    contact: contactVM(det),
    history: historyVM(det, interaction.id),
  };
}

export interface ConsultationLine {
  sessionId: string;
  target: string;
  state: string;
}

export interface InteractionWindowVM {
  id: string;
  /** Region name: "Voice interaction with Jane Doe". */
  label: string;
  contactName: string;
  subject: string;
  media: Media;
  mediaLabel: string;
  icon: string;
  status: 'Active' | 'Ended';
  ended: boolean;
  startedAt: string;
  outcome: string | null;
  consultations: ConsultationLine[];
  tabs: InteractionTabsVM;
  error: string | null;
  canConsult: boolean;
}

const SESSION_STATE_TEXT: Record<string, string> = {
  not_connected: 'Not Connected',
  inviting: 'Inviting',
  connected: 'Connected',
  ended: 'Ended',
};

export function interactionWindowVM(state: AppState, id: string): InteractionWindowVM | null {
  const i = state.interactions[id];
  if (!i) return null;
  const name = contactDisplayName(i);
  return {
    id,
    label: `${mediaLabel(i.media)} interaction with ${name}`,
    contactName: name,
    subject: i.subject,
    media: i.media,
    mediaLabel: mediaLabel(i.media),
    icon: MEDIA_ICONS[i.media],
    status: i.state === 'ended' ? 'Ended' : 'Active',
    ended: i.state === 'ended',
    startedAt: formatDateTime(i.created_at),
    outcome: i.outcome,
    consultations: i.consultations.map((c) => ({ sessionId: c.session_id, target: c.target_name, state: SESSION_STATE_TEXT[c.state] ?? c.state })),
    tabs: tabsVM(i, state.details[id]),
    error: state.errors[`interaction:${id}`] ?? null,
    canConsult: i.state === 'active' && !i.read_only && !!state.me?.im_permitted,
  };
}

/** What an IM window shows about the interaction a consultation is about. */
export type ConsultationVM =
  | null
  | {
      role: 'initiator';
      interactionId: string;
      /** "Consultation about Voice · Jane Doe · Billing question". */
      about: string;
    }
  | {
      role: 'target';
      interactionId: string;
      about: string;
      /** Waiting: not accepted yet; shared: the tabs are shown. */
      access: 'waiting' | 'loading' | 'shared' | 'denied';
      message: string | null;
      tabs: InteractionTabsVM | null;
    };

export function consultationVM(state: AppState, session: SessionView | undefined): ConsultationVM {
  const me = state.me;
  const parent = session?.parent_interaction_id;
  if (!session || !me || !parent) return null;
  if (session.created_by === me.id) {
    const i = state.interactions[parent];
    return { role: 'initiator', interactionId: parent, about: `Consultation about ${i ? interactionSummary(i) : 'an interaction'}` };
  }
  const d = state.details[parent];
  const view = d?.view;
  if (!consultationShared(session, me.id)) {
    return {
      role: 'target',
      interactionId: parent,
      about: 'Consultation request: accept it to see the case data',
      access: 'waiting',
      message: 'Accept the invitation to see the case data.',
      tabs: null,
    };
  }
  if (view?.status === 'ready' && view.data) {
    return {
      role: 'target',
      interactionId: parent,
      about: `Consultation about ${interactionSummary(view.data)}`,
      access: 'shared',
      message: null,
      tabs: tabsVM({ ...view.data, read_only: true }, d),
    };
  }
  if (view?.status === 'error') {
    return { role: 'target', interactionId: parent, about: 'Consultation', access: 'denied', message: loadError(view, 'the case data'), tabs: null };
  }
  return { role: 'target', interactionId: parent, about: 'Consultation', access: 'loading', message: null, tabs: null };
}

export interface InteractionTabsActions {
  setQuery: (patch: Partial<HistoryQuery>, immediate?: boolean) => void;
  search: () => void;
  refreshHistory: () => void;
}

export function useTabsActions(interactionId: string): InteractionTabsActions {
  const model = useModel();
  return useMemo(
    () => ({
      setQuery: (patch: Partial<HistoryQuery>, immediate?: boolean) => model.setHistoryQuery(interactionId, patch, { immediate }),
      search: () => void model.loadHistory(interactionId),
      refreshHistory: () => void model.loadHistory(interactionId),
    }),
    [model, interactionId],
  );
}

export function useInteractionWindow(id: string) {
  const state = useAppState();
  const model = useModel();
  const vm = useMemo(() => interactionWindowVM(state, id), [state, id]);
  const actions = useMemo(
    () => ({
      startConsultation: () => model.startConsultation(id),
      done: () => void model.interactionDone(id),
      minimize: () => model.minimizeInteraction(id),
      dismissError: () => model.clearError(`interaction:${id}`),
    }),
    [model, id],
  );
  return { vm, actions, tabActions: useTabsActions(id) };
}
