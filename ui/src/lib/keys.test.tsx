import { expect, test, vi } from "vitest";
import { render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useShortcuts, type Shortcut } from "./keys";

function Harness({ shortcuts }: { shortcuts: Shortcut[] }) {
  useShortcuts(shortcuts);
  return <input aria-label="field" />;
}

test("sequences, single keys and chords; plain keys never fire while typing", async () => {
  const goQueue = vi.fn();
  const down = vi.fn();
  const send = vi.fn();
  const { getByLabelText } = render(
    <Harness
      shortcuts={[
        { keys: "g q", help: "", run: goQueue },
        { keys: "j", help: "", run: down },
        { keys: "ctrl+enter", help: "", run: send, inFields: true },
      ]}
    />,
  );
  const user = userEvent.setup();
  await user.keyboard("gq");
  expect(goQueue).toHaveBeenCalledTimes(1);
  await user.keyboard("j");
  expect(down).toHaveBeenCalledTimes(1);
  await user.keyboard("q"); // no pending "g": nothing
  expect(goQueue).toHaveBeenCalledTimes(1);

  await user.click(getByLabelText("field"));
  await user.keyboard("gqj");
  expect(goQueue).toHaveBeenCalledTimes(1);
  expect(down).toHaveBeenCalledTimes(1);
  expect((getByLabelText("field") as HTMLInputElement).value).toBe("gqj");
  await user.keyboard("{Control>}{Enter}{/Control}");
  expect(send).toHaveBeenCalledTimes(1);
});
