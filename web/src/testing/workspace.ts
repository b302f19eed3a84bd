// An in-memory localStorage shared by several "tabs": like the browser's storage event, a tab
// hears the others' writes, never its own.
import { parseWorkspace, serializeWorkspace, type SavedWorkspace, type WorkspaceStorage } from '../lib/workspace';

export function memoryWorkspaceBackend() {
  const raw = new Map<string, string>();
  const listeners = new Set<{ tab: number; userId: string; fn: (ws: SavedWorkspace) => void }>();
  let tabs = 0;
  return {
    raw,
    tab(): WorkspaceStorage {
      const me = ++tabs;
      return {
        load: (userId) => parseWorkspace(raw.get(userId) ?? null),
        save(userId, ws) {
          const text = serializeWorkspace(ws);
          if (raw.get(userId) === text) return;
          raw.set(userId, text);
          for (const l of [...listeners]) if (l.tab !== me && l.userId === userId) l.fn(parseWorkspace(text)!);
        },
        subscribe(userId, fn) {
          const l = { tab: me, userId, fn };
          listeners.add(l);
          return () => listeners.delete(l);
        },
      };
    },
  };
}
