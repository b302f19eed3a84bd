// Wires the app model to the dumb views through the view models.
import { useEffect, useMemo, useRef, useState } from 'react';
import { ZOOM_STEPS, type AppModel, type SsoReturn } from './models/app';
import { AppContext, useAppState, useModel } from './viewmodels/context';
import { useImWindow } from './viewmodels/imWindow';
import {
  consultationContext,
  directoryRows,
  imNotPermittedNotice,
  invitationCards,
  missedRows,
  myStatusText,
  statusOptions,
  taskbarItems,
} from './viewmodels/main';
import { consultationVM, useInteractionWindow, useTabsActions } from './viewmodels/interaction';
import { InteractionWindow } from './views/interaction/InteractionWindow/InteractionWindow';
import { InteractionTabs } from './views/interaction/InteractionTabs/InteractionTabs';
import { SignIn } from './views/auth/SignIn/SignIn';
import { LiveRegion } from './views/common/LiveRegion/LiveRegion';
import { ImWindow } from './views/im/ImWindow/ImWindow';
import { MainLayout } from './views/main/MainLayout/MainLayout';
import { MyStatus } from './views/main/MyStatus/MyStatus';
import { OfflineBanner } from './views/main/OfflineBanner/OfflineBanner';
import { TaskBar } from './views/main/TaskBar/TaskBar';
import { TeamCommunicator } from './views/main/TeamCommunicator/TeamCommunicator';
import { ZoomControl } from './views/main/ZoomControl/ZoomControl';
import { InviteNotification, WithdrawnNotification } from './views/notifications/InviteNotification/InviteNotification';
import { MissedList } from './views/main/MissedList/MissedList';
import { requestNotificationPermission } from './lib/effects';
import { incomingCalls, interactionVoiceVM, softphoneVM, useNow } from './viewmodels/voice';
import { CallControls } from './views/voice/CallControls/CallControls';
import { IncomingCall } from './views/voice/IncomingCall/IncomingCall';
import { Softphone } from './views/voice/Softphone/Softphone';
import { AdminModel } from './models/admin';
import type { AdminApi } from './protocol/rest';
import { usePage } from './lib/page';
import { useAdminState } from './viewmodels/admin';
import { AdminConsole } from './views/admin/AdminConsole/AdminConsole';
import { useSupervision } from './viewmodels/supervision';
import { SupervisionBoard } from './views/supervision/SupervisionBoard/SupervisionBoard';

function ConsultationSide({ consultation }: { consultation: NonNullable<ReturnType<typeof consultationVM>> & { role: 'target' } }) {
  const tabActions = useTabsActions(consultation.interactionId);
  if (consultation.tabs) return <InteractionTabs vm={consultation.tabs} actions={tabActions} label="Consultation: interaction details" />;
  return (
    <p className={consultation.access === 'denied' ? 'error' : 'muted'} role={consultation.access === 'denied' ? 'alert' : undefined}>
      {consultation.message ?? 'Loading the case data…'}
    </p>
  );
}

function ConnectedImWindow({ id, focused }: { id: string; focused: boolean }) {
  const { vm, actions } = useImWindow(id);
  const state = useAppState();
  const model = useModel();
  const session = state.sessions[id];
  const consultation = useMemo(() => consultationVM(state, session), [state, session]);
  const parent = consultation?.interactionId;
  const needsShared = consultation?.role === 'target' && consultation.access === 'loading';
  useEffect(() => {
    // a consultation target who accepted (here or in another tab) loads the shared interaction
    if (parent && needsShared && state.details[parent]?.view.status !== 'loading') void model.loadDetails(parent, { view: true });
  }, [parent, needsShared, model, state.details]);
  if (!vm) return null;
  return (
    <ImWindow
      vm={vm}
      actions={actions}
      focusOnMount={focused}
      about={consultation?.about ?? null}
      side={consultation?.role === 'target' && consultation.access !== 'waiting' ? <ConsultationSide consultation={consultation} /> : null}
    />
  );
}

function ConnectedCallControls({ interactionId }: { interactionId: string }) {
  const state = useAppState();
  const model = useModel();
  const hasCall = Object.values(state.calls).some((c) => c.interaction_id === interactionId);
  const now = useNow(hasCall);
  const vm = useMemo(() => (hasCall ? interactionVoiceVM(state, interactionId, now) : null), [state, interactionId, now, hasCall]);
  if (!vm) return null;
  const ids = [vm.contactCall?.id, ...vm.consultations.map((c) => c.id)].filter((x): x is string => !!x);
  return (
    <CallControls
      vm={vm}
      onAction={(callId, action) => void model.callAction(callId, action)}
      onDismissError={() => ids.forEach((cid) => model.clearError(`call:${cid}`))}
    />
  );
}

function ConnectedInteractionWindow({ id, focused }: { id: string; focused: boolean }) {
  const { vm, actions, tabActions } = useInteractionWindow(id);
  if (!vm) return null;
  return (
    <InteractionWindow
      vm={vm}
      actions={actions}
      tabActions={tabActions}
      focusOnMount={focused}
      voice={vm.media === 'voice' ? <ConnectedCallControls interactionId={id} /> : null}
    />
  );
}

function ConnectedSoftphone() {
  const state = useAppState();
  const model = useModel();
  const active = Object.values(state.calls).some((c) => c.state !== 'ended');
  const now = useNow(active);
  const vm = useMemo(() => softphoneVM(state, now), [state, now]);
  const actions = useMemo(
    () => ({
      enableMicrophone: () => model.enableMicrophone(),
      setMuted: (m: boolean) => model.setMuted(m),
      selectDevice: (d: string) => model.selectMicrophone(d),
      hangUp: (callId: string) => void model.callAction(callId, 'hang-up'),
      show: (open: boolean) => model.showSoftphone(open),
    }),
    [model],
  );
  return <Softphone vm={vm} actions={actions} />;
}

function ConnectedSupervision() {
  const { vm, actions } = useSupervision();
  return <SupervisionBoard vm={vm} actions={actions} />;
}

/** The Supervision / Workspace switch, for users who supervise a group. */
function SupervisionNav() {
  const { vm, actions } = useSupervision();
  if (!vm.available) return null;
  return (
    <button type="button" className="main-nav" aria-pressed={vm.open} onClick={() => actions.show(!vm.open)}>
      {vm.open ? 'Workspace' : 'Supervision'}
    </button>
  );
}

/** The administration area, loaded afresh each time it opens. */
function ConnectedAdminConsole({ api }: { api: AdminApi }) {
  const [admin] = useState(() => new AdminModel(api));
  const state = useAdminState(admin);
  useEffect(() => {
    void admin.load();
  }, [admin]);
  return <AdminConsole state={state} actions={admin} />;
}

function Main({ adminApi }: { adminApi?: AdminApi }) {
  const state = useAppState();
  const model = useModel();
  const me = state.me!;
  const [page, goTo] = usePage();
  const adminOf = me.roles.includes('admin') ? adminApi : undefined;
  const onAdminPage = adminOf !== undefined && page === 'admin';
  const rows = useMemo(() => directoryRows(state), [state]);
  const tasks = useMemo(() => taskbarItems(state), [state]);
  const cards = useMemo(() => invitationCards(state), [state]);
  const missed = useMemo(() => missedRows(state), [state]);
  const tcContext = useMemo(() => consultationContext(state), [state]);
  const ringing = useMemo(() => incomingCalls(state), [state]);
  const noIm = imNotPermittedNotice(state);
  const zoom = me.preferences.zoom;

  return (
    <MainLayout
      userName={me.display_name}
      banner={<OfflineBanner visible={state.everConnected && state.connection !== 'open'} connecting={state.connection === 'connecting'} />}
      myStatus={<MyStatus status={me.status} text={myStatusText(state)} options={statusOptions(state)} onChange={(s, r) => void model.setStatus(s, r)} />}
      zoom={
        <ZoomControl
          zoom={zoom}
          min={ZOOM_STEPS[0]}
          max={ZOOM_STEPS[ZOOM_STEPS.length - 1]}
          onZoomIn={() => model.zoomStep(1)}
          onZoomOut={() => model.zoomStep(-1)}
          onReset={() => void model.setZoom(100)}
        />
      }
      onSignOut={() => void model.signOut()}
      pageLink={
        adminOf ? (
          <button type="button" onClick={() => goTo(onAdminPage ? 'desk' : 'admin')}>
            {onAdminPage ? 'Back to the desk' : 'Administration'}
          </button>
        ) : null
      }
      page={adminOf && onAdminPage ? <ConnectedAdminConsole key={me.id} api={adminOf} /> : undefined}
      nav={<SupervisionNav />}
      workspacePage={state.supervision.open && state.supervision.board?.groups.length ? <ConnectedSupervision /> : undefined}
      notice={noIm}
      error={state.errors[''] ?? null}
      onDismissError={() => model.clearError('')}
      teamCommunicator={
        <TeamCommunicator
          query={state.directory.query}
          filter={state.directory.filter}
          rows={rows}
          loading={state.directory.loading}
          error={state.directory.error}
          onQuery={(q) => model.search(q)}
          onFilter={(f) => model.setFilter(f)}
          onAction={(row, action) => {
            if (action === 'send_im') void model.startIm(row.id);
            else if (action === 'start_im_consultation' && row.entry.kind === 'group') model.composeGroupConsultation(row.id, row.name);
            else if (action === 'start_im_consultation') void model.startImConsultation(row.id);
            else if (action === 'start_voice_consultation') void model.startVoiceConsultation(row.id);
            else void model.toggleFavourite(row.entry);
          }}
          context={tcContext}
          onLeaveContext={() => model.leaveConsultationContext()}
          compose={state.groupCompose}
          onComposeSend={(text) => void model.startGroupConsultation(text)}
          onComposeCancel={() => model.cancelGroupCompose()}
        />
      }
      missed={<MissedList rows={missed} onReply={(id) => void model.replyMissed(id)} onDismiss={(id) => void model.dismissMissed(id)} />}
      taskbar={
        <TaskBar
          items={tasks}
          onOpen={(id) => model.openWindow(id)}
          onOpenInteraction={(id) => model.openInteraction(id)}
          onAccept={(id) => void model.accept(id)}
          onReject={(id) => void model.reject(id)}
        />
      }
      windows={
        state.openWindows.length || state.openInteractions.length ? (
          <>
            {state.openInteractions.map((id) => (
              <ConnectedInteractionWindow key={`i:${id}`} id={id} focused={state.focus === id} />
            ))}
            {state.openWindows.map((id) => (
              <ConnectedImWindow key={id} id={id} focused={state.focus === id} />
            ))}
          </>
        ) : (
          <div className="windows-empty">
            <p>{noIm ? 'Your interactions open here.' : 'Find a colleague in the Team Communicator and choose “Send an Instant Message”.'}</p>
          </div>
        )
      }
      softphone={<ConnectedSoftphone />}
      notifications={[
        ...ringing.map((c) => (
          <IncomingCall key={`call:${c.id}`} call={c} onAccept={() => void model.acceptCall(c.id)} onReject={() => void model.callAction(c.id, 'reject')} />
        )),
        ...state.withdrawn.map((w) => (
          <WithdrawnNotification key={`withdrawn:${w.session_id}`} group={w.group} text={w.text} onDismiss={() => model.dismissWithdrawn(w.session_id)} />
        )),
        ...cards.map((c) => (
        <InviteNotification
          key={c.id}
          card={c}
          onAccept={() => void model.accept(c.id)}
          onReject={() => void model.reject(c.id)}
          onDismiss={() => model.dismissNotification(c.id)}
        />
        )),
      ]}
      liveRegion={<LiveRegion announcement={state.announcement} />}
    />
  );
}

function Root({ adminApi }: { adminApi?: AdminApi }) {
  const state = useAppState();
  const model = useModel();
  if (state.phase === 'loading') {
    return (
      <main className="loading-page" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (state.phase === 'signed_out') {
    return (
      <SignIn
        notice={state.notice}
        error={state.signInError}
        busy={state.signingIn}
        methods={state.signInMethods}
        onSignIn={(u, p) => {
          requestNotificationPermission();
          void model.signIn(u, p);
        }}
      />
    );
  }
  return <Main adminApi={adminApi} />;
}

export function App({ model, adminApi, sso = null }: { model: AppModel; adminApi?: AdminApi; sso?: SsoReturn | null }) {
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void model.init(sso);
  }, [model, sso]);

  useEffect(() => {
    const online = () => model.browserOnline(true);
    const offline = () => model.browserOnline(false);
    const visible = () => {
      if (!document.hidden) model.pageVisible();
    };
    window.addEventListener('online', online);
    window.addEventListener('offline', offline);
    document.addEventListener('visibilitychange', visible);
    // typing indicators expire by time: refresh once a second while someone is typing
    const tick = window.setInterval(() => {
      const s = model.state;
      const now = Date.now();
      if (Object.values(s.typing).some((t) => Object.values(t).some((u) => u > 0 && u < now))) {
        model.store.setState((st) => ({
          typing: Object.fromEntries(
            Object.entries(st.typing).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).filter(([, u]) => u > now))]),
          ),
        }));
      }
    }, 1000);
    return () => {
      window.removeEventListener('online', online);
      window.removeEventListener('offline', offline);
      document.removeEventListener('visibilitychange', visible);
      window.clearInterval(tick);
    };
  }, [model]);

  return (
    <AppContext.Provider value={model}>
      <Root adminApi={adminApi} />
    </AppContext.Provider>
  );
}
