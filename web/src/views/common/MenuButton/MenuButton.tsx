import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { autoUpdate, flip, offset, shift, size, useFloating } from '@floating-ui/react-dom';

export interface MenuItem {
  key: string;
  label: string;
  onSelect: () => void;
  /** For radio menus (My Status). */
  checked?: boolean;
  /** Shown but not selectable; `reason` says why. */
  disabled?: boolean;
  /** Why the item is disabled (shown under its label and read with it). */
  reason?: string;
}

/** Space kept between a menu and the edges of the window. */
const VIEWPORT_MARGIN = 8;

export interface MenuButtonProps {
  /** Visible content of the button. */
  children: ReactNode;
  /** Accessible name of the button (defaults to its text). */
  label?: string;
  items: MenuItem[];
  radio?: boolean;
  menuLabel: string;
  className?: string;
  disabled?: boolean;
}

/**
 * A button that opens a keyboard-operable menu (WAI-ARIA menu button pattern). The menu is
 * rendered in a layer above the layout (a portal into `body`) and placed by Floating UI, so no
 * scrolling or clipping container cuts it: it opens below the button (above when there is no
 * room), shifts to stay inside the window and scrolls itself when taller than the room left.
 */
export function MenuButton({ children, label, items, radio, menuLabel, className, disabled }: MenuButtonProps) {
  const [open, setOpen] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement | null>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const menuId = useId();
  const { refs, floatingStyles } = useFloating({
    open,
    placement: 'bottom-end',
    strategy: 'fixed',
    whileElementsMounted: autoUpdate,
    middleware: [
      offset(4),
      flip({ padding: VIEWPORT_MARGIN }),
      shift({ padding: VIEWPORT_MARGIN }),
      size({
        padding: VIEWPORT_MARGIN,
        apply({ availableHeight, availableWidth, elements }) {
          elements.floating.style.maxHeight = `${Math.max(availableHeight, 80)}px`;
          elements.floating.style.maxWidth = `${Math.max(availableWidth, 160)}px`;
        },
      }),
    ],
  });

  const itemEls = () => Array.from(menuRef.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? []);

  useEffect(() => {
    if (!open) return;
    const els = itemEls();
    const checked = els.findIndex((el) => el.getAttribute('aria-checked') === 'true');
    els[checked >= 0 ? checked : 0]?.focus();
    const onDoc = (e: MouseEvent) => {
      const t = e.target as Node;
      if (!rootRef.current?.contains(t) && !menuRef.current?.contains(t)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) buttonRef.current?.focus();
  };

  const onMenuKey = (e: KeyboardEvent) => {
    const els = itemEls();
    const i = els.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      els[(i + 1) % els.length]?.focus();
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      els[(i - 1 + els.length) % els.length]?.focus();
    } else if (e.key === 'Home') {
      e.preventDefault();
      els[0]?.focus();
    } else if (e.key === 'End') {
      e.preventDefault();
      els[els.length - 1]?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'Tab') {
      setOpen(false);
    }
  };

  const onButtonKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
    }
  };

  return (
    <div className={`menu-button ${className ?? ''}`} ref={rootRef}>
      <button
        ref={(el) => {
          buttonRef.current = el;
          refs.setReference(el);
        }}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={label}
        disabled={disabled}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={onButtonKey}
      >
        {children}
        <span aria-hidden="true" className="caret">
          ▾
        </span>
      </button>
      {open &&
        createPortal(
          <ul
            className="menu"
            role="menu"
            id={menuId}
            aria-label={menuLabel}
            ref={(el) => {
              menuRef.current = el;
              refs.setFloating(el);
            }}
            style={floatingStyles}
            onKeyDown={onMenuKey}
          >
            {items.map((item) => (
              <li key={item.key} role="none">
                <button
                  type="button"
                  role={radio ? 'menuitemradio' : 'menuitem'}
                  aria-checked={radio ? !!item.checked : undefined}
                  aria-disabled={item.disabled || undefined}
                  aria-describedby={item.reason ? `${menuId}-${item.key}-why` : undefined}
                  className={item.disabled ? 'is-disabled' : undefined}
                  tabIndex={-1}
                  onClick={() => {
                    if (item.disabled) return;
                    close(true);
                    item.onSelect();
                  }}
                >
                  {radio && (
                    <span aria-hidden="true" className="check">
                      {item.checked ? '✓' : ''}
                    </span>
                  )}
                  <span className="menu-label">
                    {item.label}
                    {item.reason && (
                      <span className="menu-reason" id={`${menuId}-${item.key}-why`}>
                        {item.reason}
                      </span>
                    )}
                  </span>
                </button>
              </li>
            ))}
          </ul>,
          document.body,
        )}
    </div>
  );
}
