// The agent's workspace as it survives a reload and is shared by the tabs of one browser:
// which windows are open, which has focus, the drafts typed and not sent, the softphone's
// open state. Kept per user in localStorage under a versioned key (never the session token:
// the desktop signs in with an HttpOnly cookie); other tabs follow through the `storage` event.

export const WORKSPACE_SCHEMA = 1;
const PREFIX = `backline.workspace.v${WORKSPACE_SCHEMA}.`;
/** A draft longer than this is not kept (the server refuses such a message anyway). */
const MAX_DRAFT = 16_000;
const MAX_IDS = 50;

export interface SavedWorkspace {
  openInteractions: string[];
  openWindows: string[];
  focus: string | null;
  /** Session id → text typed and not sent. */
  drafts: Record<string, string>;
  softphoneOpen: boolean;
}

export interface WorkspaceStorage {
  load(userId: string): SavedWorkspace | null;
  save(userId: string, ws: SavedWorkspace): void;
  /** Calls back with the workspace another tab saved; returns the unsubscribe function. */
  subscribe(userId: string, onChange: (ws: SavedWorkspace) => void): () => void;
}

function ids(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length <= 64).slice(0, MAX_IDS) : [];
}

/** Reads a stored value defensively: anything malformed is dropped, never trusted. */
export function parseWorkspace(raw: string | null): SavedWorkspace | null {
  if (!raw) return null;
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!data || typeof data !== 'object') return null;
  const o = data as Record<string, unknown>;
  if (o.v !== WORKSPACE_SCHEMA) return null;
  const drafts: Record<string, string> = {};
  if (o.drafts && typeof o.drafts === 'object') {
    for (const [k, v] of Object.entries(o.drafts as Record<string, unknown>).slice(0, MAX_IDS)) {
      if (typeof v === 'string' && v && v.length <= MAX_DRAFT) drafts[k] = v;
    }
  }
  return {
    openInteractions: ids(o.openInteractions),
    openWindows: ids(o.openWindows),
    focus: typeof o.focus === 'string' ? o.focus : null,
    drafts,
    softphoneOpen: o.softphoneOpen === true,
  };
}

export function serializeWorkspace(ws: SavedWorkspace): string {
  const drafts = Object.fromEntries(Object.entries(ws.drafts).filter(([, t]) => t && t.length <= MAX_DRAFT));
  return JSON.stringify({ v: WORKSPACE_SCHEMA, ...ws, drafts });
}

/** localStorage in the browser; a storage that fails (private mode, quota) just keeps nothing. */
export function browserWorkspaceStorage(storage: Storage = window.localStorage, target: Window = window): WorkspaceStorage {
  return {
    load(userId) {
      try {
        return parseWorkspace(storage.getItem(PREFIX + userId));
      } catch {
        return null;
      }
    },
    save(userId, ws) {
      const key = PREFIX + userId;
      const text = serializeWorkspace(ws);
      try {
        // writing the same text again would wake the other tabs for nothing
        if (storage.getItem(key) !== text) storage.setItem(key, text);
      } catch {
        /* not kept */
      }
    },
    subscribe(userId, onChange) {
      const key = PREFIX + userId;
      const listener = (e: StorageEvent) => {
        if (e.key !== key || e.storageArea !== storage) return;
        const ws = parseWorkspace(e.newValue);
        if (ws) onChange(ws);
      };
      target.addEventListener('storage', listener);
      return () => target.removeEventListener('storage', listener);
    },
  };
}
