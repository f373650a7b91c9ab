import { describe, expect, test } from "vitest";
import { size } from "./format";
import { callTarget, prettyArgs, sendableChoice } from "./tools";

describe("tool call summaries", () => {
  test("name the URL, path or first line of code, as ctl tail does", () => {
    expect(callTarget({ url: "https://a.b/c", path: "x" })).toBe("https://a.b/c");
    expect(callTarget({ language: "python", code: "\nimport os\nprint(1)" })).toBe("import os");
    expect(callTarget({ n: 3, zz: "only string" })).toBe("only string");
    expect(callTarget(["not", "an object"])).toBe("");
    expect(callTarget('{ "code": "import tim')).toBe('{ "code": "import tim');
    expect(callTarget(null)).toBe("");
    const long = callTarget({ query: "é".repeat(100) });
    expect([...long]).toHaveLength(60);
    expect(long.endsWith("…")).toBe(true);
  });

  test("sizes read like ctl tail's", () => {
    expect(size(12)).toBe("12 B");
    expect(size(14_000)).toBe("14 KB");
    expect(size(3 * 1024 * 1024)).toBe("3.0 MB");
    expect(size(undefined)).toBe("–");
  });

  test("arguments print as indented JSON", () => {
    expect(prettyArgs({ path: "a.md" })).toBe('{\n  "path": "a.md"\n}');
  });

  test("a stored tool choice is sent only while it fits the chosen tools", () => {
    expect(sendableChoice("vault_read,none", ["vault_read", "run_code"])).toBe("vault_read,none");
    expect(sendableChoice("vault_read,none", ["run_code"])).toBeUndefined();
    expect(sendableChoice("required", ["run_code"])).toBe("required");
    expect(sendableChoice("required", [])).toBeUndefined();
    expect(sendableChoice("", ["run_code"])).toBeUndefined();
    expect(sendableChoice("run_code,fetch", ["run_code", "fetch"])).toBeUndefined();
  });
});
