// What a tool call is about, in a few words, the way `ctl tail` says it.

const PICK = ["url", "path", "query", "q", "code", "name"];
const MAX = 60;

/**
 * The call's target: its URL, path, query, code or name, else its first
 * string argument; only the first non-blank line, cut to 60 characters.
 * Arguments that are not an object (a model cut off mid-call) show as the
 * text they are.
 */
export function callTarget(args: unknown): string {
  const str = (v: unknown): v is string => typeof v === "string";
  let pick = "";
  if (str(args)) pick = args;
  else if (args && typeof args === "object" && !Array.isArray(args)) {
    const o = args as Record<string, unknown>;
    pick = PICK.map((k) => o[k]).find(str) ?? Object.values(o).find(str) ?? "";
  }
  const line = pick.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  const chars = [...line];
  return chars.length <= MAX ? line : `${chars.slice(0, MAX - 1).join("")}…`;
}

/** The arguments as indented JSON, for the expanded view of a call. */
export function prettyArgs(args: unknown): string {
  try {
    return JSON.stringify(args ?? {}, null, 2);
  } catch {
    return String(args);
  }
}

/** The tool choice to send with `tools`: one the picker offers for them, else none (the model decides). */
export function sendableChoice(choice: string, tools: string[]): string | undefined {
  if (tools.length === 0 || !choice) return undefined;
  if (choice === "required") return choice;
  const [first, ...rest] = choice.split(",");
  return first && tools.includes(first) && rest.every((r) => r === "none") ? choice : undefined;
}
