// The shared layout parts (see the comment at the top of layout.css):
// panes that are inline when the screen has room and drawers when it has
// not, the buttons that open them, and slots in the top bar that a page
// fills with its own controls.
import { createContext, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import { createPortal } from "react-dom";
import { below, useMedia, type Collapse } from "../lib/layout";

export interface Drawer {
  id: string;
  /** True while the pane is a drawer (the screen is narrower than its `collapse`). */
  isDrawer: boolean;
  open: boolean;
  setOpen: (open: boolean) => void;
}

/** A pane's drawer state: a drawer below `collapse` width, inline above it. */
export function useDrawer(collapse: Collapse): Drawer {
  const id = useId();
  const isDrawer = useMedia(below(collapse));
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!isDrawer) setOpen(false);
  }, [isDrawer]);
  return { id, isDrawer, open: isDrawer && open, setOpen };
}

const FOCUSABLE = 'a[href], button:not(:disabled), input:not(:disabled), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
const SWIPE_PX = 60;

/**
 * A side pane. Inline it is a plain landmark; as a drawer it slides in from
 * its side as a modal dialog, takes the focus, and closes with Esc, a tap
 * on the backdrop, or a swipe back towards its edge. A closed drawer is
 * inert: out of the focus order and the accessibility tree.
 */
export function Pane({
  drawer,
  side,
  label,
  className,
  landmark = true,
  children,
}: {
  drawer: Drawer;
  side: "start" | "end";
  label: string;
  className?: string;
  /** Inline, the pane is a complementary landmark (a side panel) unless this is false. */
  landmark?: boolean;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const touch = useRef<{ x: number; y: number } | null>(null);
  const { open, setOpen, isDrawer } = drawer;

  useEffect(() => {
    if (!open) return;
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    (el?.querySelector<HTMLElement>(FOCUSABLE) ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || !el) return;
      if (e.key === "Escape") {
        e.preventDefault();
        setOpen(false);
      } else if (e.key === "Tab") {
        // Modal: Tab cycles inside the drawer.
        const all = [...el.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((f) => f.getClientRects().length > 0);
        const [first, last] = [all[0], all[all.length - 1]];
        const at = document.activeElement;
        if (!first || !last) return;
        if (!el.contains(at) || (e.shiftKey ? at === first || at === el : at === last)) {
          e.preventDefault();
          (e.shiftKey ? last : first).focus();
        }
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => {
      window.removeEventListener("keydown", onKey, true);
      // Back to the button that opened it, unless the focus moved on.
      if (before?.isConnected && (!document.activeElement || document.activeElement === document.body || el?.contains(document.activeElement))) {
        before.focus();
      }
    };
  }, [open, setOpen]);

  const classes = ["pane", className, isDrawer && "drawer", open && "open"].filter(Boolean).join(" ");
  return (
    <>
      {open && <div className="backdrop" data-testid="backdrop" onClick={() => setOpen(false)} />}
      <div
        id={drawer.id}
        ref={ref}
        className={classes}
        data-side={side}
        aria-label={isDrawer || landmark ? label : undefined}
        role={isDrawer ? "dialog" : landmark ? "complementary" : undefined}
        aria-modal={open || undefined}
        tabIndex={isDrawer ? -1 : undefined}
        inert={isDrawer && !open}
        onTouchStart={(e) => {
          const t = e.touches[0];
          touch.current = open && t && e.touches.length === 1 ? { x: t.clientX, y: t.clientY } : null;
        }}
        onTouchEnd={(e) => {
          const t = e.changedTouches[0];
          const start = touch.current;
          touch.current = null;
          if (!start || !t) return;
          const dx = t.clientX - start.x;
          const dy = t.clientY - start.y;
          const back = side === "start" ? -dx : dx;
          if (back > SWIPE_PX && back > 2 * Math.abs(dy)) setOpen(false);
        }}
      >
        {children}
      </div>
    </>
  );
}

/** The top-bar button that opens a drawer; absent while its pane is inline. */
export function DrawerButton({ drawer, children }: { drawer: Drawer; children: ReactNode }) {
  if (!drawer.isDrawer) return null;
  return (
    <button
      type="button"
      className="ghost drawer-button"
      aria-expanded={drawer.open}
      aria-controls={drawer.id}
      onClick={() => drawer.setOpen(!drawer.open)}
    >
      {children}
    </button>
  );
}

type Slots = { start: HTMLElement | null; end: HTMLElement | null };
const SlotContext = createContext<Slots>({ start: null, end: null });

/** The top bar's two slots for page controls: before the brand, and before the menu. */
export function useTopBarSlots(): [Slots, { start: (el: HTMLElement | null) => void; end: (el: HTMLElement | null) => void }] {
  const [start, setStart] = useState<HTMLElement | null>(null);
  const [end, setEnd] = useState<HTMLElement | null>(null);
  return [{ start, end }, { start: setStart, end: setEnd }];
}

export const TopBarSlotsProvider = SlotContext.Provider;

/** Puts a page's controls (drawer buttons, mostly) into the top bar. */
export function TopBarActions({ side, children }: { side: "start" | "end"; children: ReactNode }) {
  const slot = useContext(SlotContext)[side];
  return slot ? createPortal(children, slot) : null;
}
