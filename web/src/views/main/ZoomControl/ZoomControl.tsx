export interface ZoomControlProps {
  zoom: number;
  min: number;
  max: number;
  onZoomIn: () => void;
  onZoomOut: () => void;
  onReset: () => void;
}

/** Text size of the IM view, remembered per user by the server. */
export function ZoomControl({ zoom, min, max, onZoomIn, onZoomOut, onReset }: ZoomControlProps) {
  return (
    <div className="zoom" role="group" aria-label="Zoom">
      <button type="button" aria-label="Zoom out" onClick={onZoomOut} disabled={zoom <= min}>
        −
      </button>
      <button type="button" className="zoom-value" aria-label={`Zoom ${zoom}%, reset to 100%`} onClick={onReset}>
        {zoom}%
      </button>
      <button type="button" aria-label="Zoom in" onClick={onZoomIn} disabled={zoom >= max}>
        +
      </button>
    </div>
  );
}
