import type { Status } from '../../../protocol/generated';
import { MenuButton } from '../../common/MenuButton/MenuButton';

export interface MyStatusProps {
  status: Status;
  text: string;
  options: { key: string; label: string; status: Status; reason?: string; checked: boolean }[];
  onChange: (status: Status, reason?: string) => void;
}

export function MyStatus({ status, text, options, onChange }: MyStatusProps) {
  return (
    <MenuButton
      className="my-status"
      label={`My Status: ${text}`}
      menuLabel="My Status"
      radio
      items={options.map((o) => ({ key: o.key, label: o.label, checked: o.checked, onSelect: () => onChange(o.status, o.reason) }))}
    >
      <span className={`presence-dot s-${status}`} aria-hidden="true" />
      <span className="my-status-text">{text}</span>
    </MenuButton>
  );
}
