import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";

afterEach(cleanup);
import type { RetrievedSource } from "../api/client";
import { RagPicker, type RagChoice } from "./Pickers";
import { noteHref, SourceList, sourceLabel } from "./Sources";

const src = (over: Partial<RetrievedSource> = {}): RetrievedSource => ({
  n: 1,
  path: "projects/résumé.md",
  heading: "Work > Tools",
  line_start: 12,
  line_end: 20,
  hash: "abcdef0123456789",
  score: 0.0327868852,
  lexical: 2.5,
  vector: 0.81,
  text: "…",
  ...over,
});

describe("sources under an answer", () => {
  test("are numbered like the citations, as path#heading:lines with the fused score", () => {
    render(<SourceList sources={[src(), src({ n: 2, path: "b.md", heading: "", line_start: 1, line_end: 3, score: 0.016 })]} vault="notes" />);
    const items = screen.getAllByRole("listitem");
    expect(items.map((li) => li.textContent)).toEqual(["[1]projects/résumé.md#Tools:12-200.0328", "[2]b.md:1-30.0160"]);
    expect(screen.getByText("2 sources from notes")).toBeTruthy();
    const first = screen.getAllByRole("link")[0]!;
    expect(first.getAttribute("href")).toBe("/note/projects/r%C3%A9sum%C3%A9.md?vault=notes&heading=Work+%3E+Tools&lines=12-20");
    // Each index's score is there on hover.
    expect(first.getAttribute("title")).toContain("lexical 2.50 · vector 0.810");
  });

  test("a reranker's score joins the indexes' on hover", () => {
    render(<SourceList sources={[src({ rerank: 0.9731 })]} />);
    expect(screen.getByRole("link").getAttribute("title")).toContain("vector 0.810 · rerank 0.973");
  });

  test("a click opens the note in the app, without a reload", () => {
    const push = vi.spyOn(history, "pushState");
    render(<SourceList sources={[src()]} />);
    fireEvent.click(screen.getByRole("link"), { button: 0 });
    expect(push).toHaveBeenCalledWith(null, "", noteHref(src()));
    expect(location.pathname).toBe("/note/projects/r%C3%A9sum%C3%A9.md");
    push.mockRestore();
  });

  test("no sources, nothing shown; a reused set says so", () => {
    expect(render(<SourceList sources={[]} />).container.innerHTML).toBe("");
    render(<SourceList sources={[src()]} reused />);
    expect(screen.getByText("1 source (reused)")).toBeTruthy();
    expect(sourceLabel(src({ heading: "" }))).toBe("projects/résumé.md:12-20");
  });
});

describe("the RAG picker", () => {
  test("turns retrieval on, picks a vault and a mode", () => {
    let value: RagChoice = { on: false, vault: "", mode: "augment" };
    const { rerender } = render(<RagPicker value={value} onChange={(v) => (value = v)} />);
    expect(screen.getByLabelText("retrieval").textContent).toBe("RAG");
    fireEvent.click(screen.getByRole("checkbox"));
    expect(value.on).toBe(true);
    rerender(<RagPicker value={value} onChange={(v) => (value = v)} />);
    fireEvent.change(screen.getByLabelText("vault"), { target: { value: " work " } });
    rerender(<RagPicker value={value} onChange={(v) => (value = v)} />);
    fireEvent.change(screen.getByLabelText("retrieval mode"), { target: { value: "context-only" } });
    expect(value).toEqual({ on: true, vault: "work", mode: "context-only" });
    rerender(<RagPicker value={value} onChange={(v) => (value = v)} />);
    expect(screen.getByLabelText("retrieval").textContent).toBe("RAG: work");
  });
});
