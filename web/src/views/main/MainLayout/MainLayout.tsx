import type { ReactNode } from 'react';

export interface MainLayoutProps {
  userName: string;
  banner: ReactNode;
  myStatus: ReactNode;
  zoom: ReactNode;
  onSignOut: () => void;
  /** A standing notice (e.g. no Internal IM permission). */
  notice?: string | null;
  error: string | null;
  onDismissError: () => void;
  teamCommunicator: ReactNode;
  /** Invitations that timed out unanswered. */
  missed?: ReactNode;
  /** Microphone, mute and the calls of this desktop. */
  softphone?: ReactNode;
  taskbar: ReactNode;
  windows: ReactNode;
  /** Buttons between pages (Supervision), for those who have more than the workspace. */
  nav?: ReactNode;
  /** A page shown instead of the workspace, beside the Team Communicator (the supervision board). */
  workspacePage?: ReactNode;
  notifications: ReactNode;
  liveRegion: ReactNode;
  /** The switch between the desk and the administration area (administrators only). */
  pageLink?: ReactNode;
  /** Another page (the administration area) in place of the Team Communicator and the workspace. */
  page?: ReactNode;
}

export function MainLayout(p: MainLayoutProps) {
  return (
    <div className="app">
      <header className="main-menu">
        <div className="brand">
          <span className="brand-mark small" aria-hidden="true">
            B
          </span>
          <span className="brand-name">Backline</span>
        </div>
        <div className="main-menu-right">
          {p.nav}
          {p.myStatus}
          {p.zoom}
          {p.pageLink}
          <span className="user-name">{p.userName}</span>
          <button type="button" onClick={p.onSignOut}>
            Sign Out
          </button>
        </div>
      </header>
      {p.banner}
      {p.notice && (
        <p className="notice global-notice" role="status">
          {p.notice}
        </p>
      )}
      {p.error && (
        <p className="error global-error" role="alert">
          {p.error}{' '}
          <button type="button" className="link" onClick={p.onDismissError}>
            Dismiss
          </button>
        </p>
      )}
      {p.page ? (
        <div className="main-body">{p.page}</div>
      ) : (
        <div className="main-body">
          <aside className="side">
            {p.softphone}
            {p.teamCommunicator}
            {p.missed}
          </aside>
          {p.workspacePage ? (
            <main className="workspace">{p.workspacePage}</main>
          ) : (
            <main className="workspace">
              {p.taskbar}
              <div className="windows">{p.windows}</div>
            </main>
          )}
        </div>
      )}
      <div className="notifications" aria-label="Notifications" role="region">
        {p.notifications}
      </div>
      {p.liveRegion}
    </div>
  );
}
