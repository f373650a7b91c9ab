import { afterEach, describe, expect, test, vi } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { NotePage, plainWikilinks, splitFrontMatter } from "./Note";

const TEXT = `---
title: Setup
tags: [a, b]
---
# Setup

Intro, see [[other note|the other one]] and ![[pic.png]].

## Install

Run it.

# Later

## Install

The second one.
`;

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
  history.replaceState(null, "", "/");
});

describe("the note view", () => {
  test("splits front matter and reads wikilinks as their text", () => {
    expect(splitFrontMatter(TEXT).front).toBe("title: Setup\ntags: [a, b]");
    expect(splitFrontMatter("# no front matter").front).toBeUndefined();
    expect(plainWikilinks("[[a]], [[b|B]], [[c#h]], ![[d.png]]")).toBe("a, B, c#h, d.png");
  });

  test("renders the note and opens it at the source's heading, by its path", async () => {
    const calls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ vault: "notes", path: "dir/n.md", text: TEXT }), { status: 200, headers: { "content-type": "application/json" } });
    });
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this);
    };
    history.replaceState(null, "", "/note/dir/n.md?vault=notes&heading=Later+%3E+Install&lines=17-19");
    render(<NotePage path="dir/n.md" />);
    await waitFor(() => expect(screen.getByTestId("note").textContent).toContain("The second one."));
    expect(calls).toEqual(["/api/v1/vault/dir/n.md?vault=notes"]);
    // The second "Install" (under "Later"), not the first.
    expect(scrolled).toHaveLength(1);
    expect(scrolled[0]!.nextElementSibling?.textContent).toBe("The second one.");
    expect(scrolled[0]!.classList.contains("target")).toBe(true);
    expect(document.activeElement).toBe(scrolled[0]);
    expect(screen.getByTestId("note").textContent).toContain("see the other one and pic.png");
    expect(screen.getByTestId("note-where").textContent).toBe("notes · Later > Install · lines 17-19 · read-only");
  });

  test("a note the server refuses shows its message", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(
      new Response(JSON.stringify({ error: { code: "not_found", message: "no such note: x.md" } }), { status: 404, headers: { "content-type": "application/json" } }),
    );
    render(<NotePage path="x.md" />);
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("no such note: x.md"));
  });
});
