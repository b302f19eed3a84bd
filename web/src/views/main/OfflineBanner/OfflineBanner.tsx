export interface OfflineBannerProps {
  visible: boolean;
  connecting: boolean;
}

export function OfflineBanner({ visible, connecting }: OfflineBannerProps) {
  if (!visible) return null;
  return (
    <div className="offline-banner" role="alert">
      <strong>Offline.</strong> {connecting ? 'Reconnecting…' : 'Waiting to reconnect…'} Messages you send are kept and
      delivered when the connection is back.
    </div>
  );
}
