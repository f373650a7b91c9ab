import { expect, test } from "vitest";
import { decide, type Req } from "./policy";

const ORIGIN = "https://ctl.example";
const SHELL = new Set(["/", "/assets/index-abc.js", "/manifest.webmanifest"]);
const get = (path: string, mode = "cors"): Req => ({ method: "GET", url: ORIGIN + path, mode });

test("API data, streams, the login link and metrics always go to the network", () => {
  for (const path of ["/api/v1/jobs", "/api/v1/jobs/x/events", "/api", "/login?token=ctl_secret", "/login", "/metrics", "/healthz", "/readyz", "/mcp"]) {
    expect(decide(get(path), ORIGIN, SHELL), path).toBe("network");
    expect(decide(get(path, "navigate"), ORIGIN, SHELL), `${path} opened as a page`).toBe("network");
  }
  // Even if a build ever listed one in the shell.
  expect(decide(get("/api/v1/whoami"), ORIGIN, new Set(["/api/v1/whoami"]))).toBe("network");
});

test("page loads get the shell when the server is away; shell files come from the store", () => {
  for (const path of ["/", "/queue", "/job/01JDQ7T3ZK4M8X2B6N0C5V9WAE", "/chat/abc?x=1"]) {
    expect(decide(get(path, "navigate"), ORIGIN, SHELL), path).toBe("page");
  }
  expect(decide(get("/assets/index-abc.js"), ORIGIN, SHELL)).toBe("shell");
  expect(decide(get("/manifest.webmanifest"), ORIGIN, SHELL)).toBe("shell");
  // Anything else, a query string, another origin or a write: not the worker's business.
  expect(decide(get("/assets/other.js"), ORIGIN, SHELL)).toBe("network");
  expect(decide(get("/assets/index-abc.js?v=2"), ORIGIN, SHELL)).toBe("network");
  expect(decide({ method: "GET", url: "https://cdn.example/assets/index-abc.js", mode: "cors" }, ORIGIN, SHELL)).toBe("network");
  expect(decide({ method: "POST", url: `${ORIGIN}/`, mode: "navigate" }, ORIGIN, SHELL)).toBe("network");
});
