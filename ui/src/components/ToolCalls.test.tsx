import { describe, expect, test } from "vitest";
import { fireEvent, render } from "@testing-library/react";
import type { ToolInfo } from "../api/client";
import type { ToolActivity } from "../lib/jobStream";
import { ToolPicker } from "./Pickers";
import { AnswerWithTools, ToolCallRow } from "./ToolCalls";

const call = (over: Partial<ToolActivity>): ToolActivity => ({
  id: "c1",
  tool: "vault_read",
  arguments: { path: "notes/a.md" },
  round: 1,
  status: "done",
  since: 0,
  at: 0,
  ...over,
});

describe("tool calls in an answer", () => {
  test("sit between the texts where the model made them", () => {
    const { container } = render(
      <AnswerWithTools
        text="Let me look.The note says 42."
        tools={[call({ at: 12, durationMs: 12.4, bytes: 23, result: "The answer is 42." }), call({ id: "c2", tool: "run_code", arguments: { code: "print(6*7)" }, at: 12, round: 1, status: "running", since: Date.now() - 3000 })]}
      />,
    );
    const parts = [...container.children].map((el) => el.className.split(" ")[0]);
    expect(parts).toEqual(["md", "tool-calls", "md"]);
    expect(container.children[0]?.textContent?.trim()).toBe("Let me look.");
    expect(container.children[2]?.textContent?.trim()).toBe("The note says 42.");
    const rows = container.querySelectorAll("[data-testid=tool-call] summary");
    expect(rows[0]?.textContent).toBe("→vault_readnotes/a.md12 ms, 23 B");
    // A running call counts its seconds.
    expect(rows[1]?.textContent).toBe("⟳run_codeprint(6*7)running… 3 s");
  });

  test("calls before any text, and an answer without calls, render as they are", () => {
    const { container } = render(<AnswerWithTools text="" tools={[call({ status: "running", since: Date.now() })]} />);
    expect(container.querySelectorAll("[data-testid=tool-call]")).toHaveLength(1);
    expect(render(<AnswerWithTools text="plain" tools={[]} />).container.innerHTML).toBe('<div class="md "><p>plain</p>\n</div>');
  });

  test("a row opens to its arguments and result, and says what failed", () => {
    const { container } = render(<ToolCallRow call={call({ status: "error", durationMs: 3, error: "no such note: notes/b.md" })} />);
    expect(container.querySelector("summary")?.textContent).toContain("3 ms, failed: no such note: notes/b.md");
    fireEvent.click(container.querySelector("summary")!);
    expect(container.querySelector("pre.raw")?.textContent).toBe('{\n  "path": "notes/a.md"\n}');
    expect(container.querySelector("pre.error")?.textContent).toBe("no such note: notes/b.md");
    const capped = render(<ToolCallRow call={call({ result: "abc", bytes: 300_000, truncated: true, reused: true })} />);
    expect(capped.container.querySelector("summary")?.textContent).toContain("293 KB, truncated, reused");
    expect(capped.container.querySelector(".tool-body")?.textContent).toContain("cut to the size cap (293 KB in all), reused from an earlier attempt");
  });
});

const info = (name: string, traits: Partial<ToolInfo["traits"]> = {}): ToolInfo => ({
  name,
  description: `${name} does things`,
  input_schema: {},
  limits: { max_output_bytes: 1000, timeout_secs: 10 },
  traits: { egress: false, private: false, read_only: true, untrusted: false, ...traits },
});

describe("the tools picker", () => {
  test("lists the enabled tools with what they touch, and offers a choice once one is picked", () => {
    let value: string[] = [];
    let choice = "";
    const tools = [info("fetch", { egress: true, untrusted: true }), info("vault_read", { private: true })];
    const view = () => <ToolPicker tools={tools} value={value} onChange={(v) => (value = v)} choice={choice} onChoice={(c) => (choice = c)} />;
    const { getByRole, queryByLabelText, rerender, getByLabelText } = render(view());
    expect(getByRole("checkbox", { name: /^fetch/ }).closest("label")?.textContent).toContain("sends data out, untrusted output");
    expect(queryByLabelText("tool choice")).toBeNull();
    fireEvent.click(getByRole("checkbox", { name: /^vault_read/ }));
    expect(value).toEqual(["vault_read"]);
    rerender(view());
    const select = getByLabelText("tool choice") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["the model decides", "at least one call", "vault_read once, then answer"]);
    fireEvent.change(select, { target: { value: "vault_read,none" } });
    expect(choice).toBe("vault_read,none");
  });

  test("says so when no tool is enabled", () => {
    const { container } = render(<ToolPicker tools={[]} value={[]} onChange={() => {}} choice="" onChoice={() => {}} />);
    expect(container.textContent).toContain("No tools are enabled");
  });
});
