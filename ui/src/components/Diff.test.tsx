import { expect, test } from "vitest";
import { render } from "@testing-library/react";
import { DiffView, diffRows } from "./Diff";

test("changed lines pair up; unchanged lines keep both numbers", () => {
  const rows = diffRows("one\ntwo\nthree\n", "one\n2\nthree\nfour\n");
  expect(rows).toEqual([
    { kind: "same", a: "one", b: "one", an: 1, bn: 1 },
    { kind: "change", a: "two", b: "2", an: 2, bn: 2 },
    { kind: "same", a: "three", b: "three", an: 3, bn: 3 },
    { kind: "change", a: undefined, b: "four", an: undefined, bn: 4 },
  ]);
});

test("word-level highlights in both layouts", () => {
  const a = "the quick brown fox\n";
  const b = "the slow brown fox\n";
  const unified = render(<DiffView a={a} b={b} mode="unified" />);
  expect([...unified.container.querySelectorAll("del")].map((e) => e.textContent)).toEqual(["quick"]);
  expect([...unified.container.querySelectorAll("ins")].map((e) => e.textContent)).toEqual(["slow"]);
  unified.unmount();
  const split = render(<DiffView a={a} b={b} mode="split" />);
  expect(split.getByRole("table", { name: "side by side diff" }).querySelectorAll("tr")).toHaveLength(1);
  expect(split.container.querySelector("td.del del")?.textContent).toBe("quick");
  expect(split.container.querySelector("td.add ins")?.textContent).toBe("slow");
});

test("identical outputs say so", () => {
  const { getByText } = render(<DiffView a="same" b="same" mode="unified" />);
  expect(getByText("The outputs are the same.")).toBeInTheDocument();
});
