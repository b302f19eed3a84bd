import { createContext, useContext, useSyncExternalStore } from 'react';
import type { AppModel, AppState } from '../models/app';

export const AppContext = createContext<AppModel | null>(null);

export function useModel(): AppModel {
  const m = useContext(AppContext);
  if (!m) throw new Error('AppContext missing');
  return m;
}

/** Subscribes to the whole state; selectors are cheap derivations. */
export function useAppState(): AppState {
  const m = useModel();
  return useSyncExternalStore(m.store.subscribe, m.store.getState, m.store.getState);
}
