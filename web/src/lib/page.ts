// The desktop's pages: the desk (`/`) and, for administrators, the administration area (`/admin`).
import { useCallback, useEffect, useState } from 'react';

export type Page = 'desk' | 'admin';

export function currentPage(): Page {
  return window.location.pathname.replace(/\/+$/, '') === '/admin' ? 'admin' : 'desk';
}

/** The page the address shows, and a way to go to another one (a history entry, so Back works). */
export function usePage(): [Page, (page: Page) => void] {
  const [page, setPage] = useState<Page>(currentPage);
  useEffect(() => {
    const onPop = () => setPage(currentPage());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const go = useCallback((next: Page) => {
    const path = next === 'admin' ? '/admin' : '/';
    if (window.location.pathname !== path) window.history.pushState(null, '', path);
    setPage(next);
  }, []);
  return [page, go];
}
