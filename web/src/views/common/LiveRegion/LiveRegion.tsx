export interface LiveRegionProps {
  announcement: { id: number; text: string } | null;
}

/** Polite ARIA live region announcing new messages and invitations. */
export function LiveRegion({ announcement }: LiveRegionProps) {
  return (
    <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="live-region">
      {announcement ? <span key={announcement.id}>{announcement.text}</span> : null}
    </div>
  );
}
