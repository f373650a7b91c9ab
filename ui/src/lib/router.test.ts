import { expect, test } from "vitest";
import { parseRoute } from "./router";

test("every page has an address", () => {
  expect(parseRoute("/")).toEqual({ page: "chat" });
  expect(parseRoute("/chat/01ABC")).toEqual({ page: "chat", session: "01ABC" });
  expect(parseRoute("/job/01JOB")).toEqual({ page: "job", id: "01JOB" });
  expect(parseRoute("/queue")).toEqual({ page: "queue" });
  expect(parseRoute("/stats")).toEqual({ page: "stats" });
  expect(parseRoute("/note/projects/r%C3%A9sum%C3%A9.md")).toEqual({ page: "note", path: "projects/résumé.md" });
  expect(parseRoute("/note")).toEqual({ page: "missing" });
  expect(parseRoute("/job")).toEqual({ page: "missing" });
  expect(parseRoute("/nope/x/y")).toEqual({ page: "missing" });
});
