import { afterEach, expect, test, vi } from "vitest";
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { DrawerButton, Pane, TopBarActions, TopBarSlotsProvider, useDrawer, useTopBarSlots } from "./Layout";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** Pretends the screen is narrower than every breakpoint (or wider than all). */
function screenWidth(narrow: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({
    matches: narrow && query.startsWith("(width <"),
    media: query,
    addEventListener: () => {},
    removeEventListener: () => {},
  }));
}

function Page() {
  const [slots, set] = useTopBarSlots();
  const sessions = useDrawer("phone");
  return (
    <TopBarSlotsProvider value={slots}>
      <header>
        <div ref={set.start} />
        <div ref={set.end} />
      </header>
      <TopBarActions side="start">
        <DrawerButton drawer={sessions}>chats</DrawerButton>
      </TopBarActions>
      <div className="panes">
        <Pane drawer={sessions} side="start" label="chat sessions">
          <a href="/chat/1">first chat</a>
        </Pane>
        <main>conversation</main>
      </div>
    </TopBarSlotsProvider>
  );
}

test("on a narrow screen a pane is a drawer: a top-bar button opens it; Esc, the backdrop and a swipe close it", async () => {
  screenWidth(true);
  render(<Page />);
  const user = userEvent.setup();
  const button = screen.getByRole("button", { name: "chats" });
  expect(button.closest("header")).not.toBeNull();
  // Closed, it is inert: out of the focus order and the accessibility tree.
  const pane = document.querySelector(".pane")!;
  expect(pane).toHaveAttribute("inert");

  await user.click(button);
  const dialog = screen.getByRole("dialog", { name: "chat sessions" });
  expect(dialog).toHaveAttribute("aria-modal", "true");
  expect(dialog).not.toHaveAttribute("inert");
  expect(button).toHaveAttribute("aria-expanded", "true");
  expect(document.activeElement).toBe(screen.getByText("first chat"));
  await user.keyboard("{Escape}");
  expect(pane).toHaveAttribute("inert");
  expect(document.activeElement).toBe(button);

  await user.click(button);
  await user.click(screen.getByTestId("backdrop"));
  expect(pane).toHaveAttribute("inert");

  await user.click(button);
  // A swipe that is mostly vertical is a scroll, not a close.
  act(() => {
    fireEvent.touchStart(pane, { touches: [{ clientX: 200, clientY: 100 }] });
    fireEvent.touchEnd(pane, { changedTouches: [{ clientX: 120, clientY: 400 }] });
  });
  expect(pane).not.toHaveAttribute("inert");
  act(() => {
    fireEvent.touchStart(pane, { touches: [{ clientX: 200, clientY: 100 }] });
    fireEvent.touchEnd(pane, { changedTouches: [{ clientX: 100, clientY: 110 }] });
  });
  expect(pane).toHaveAttribute("inert");
});

test("on a wide screen the pane is an ordinary side panel and has no button", () => {
  screenWidth(false);
  render(<Page />);
  expect(screen.queryByRole("button", { name: "chats" })).toBeNull();
  const side = screen.getByRole("complementary", { name: "chat sessions" });
  expect(side).not.toHaveAttribute("inert");
  expect(screen.queryByRole("dialog")).toBeNull();
});
