import { expect, test } from "vitest";
import { render } from "@testing-library/react";
import { SetupBanner } from "./SetupBanner";

const down = {
  provider: "ollama",
  kind: "ollama",
  base_url: "http://127.0.0.1:11434",
  reachable: false,
  error: "cannot connect to http://127.0.0.1:11434: connection refused",
  models: [],
};

test("no reachable provider: the banner says what was found and both fixes", () => {
  const { getByRole } = render(<SetupBanner providers={[down]} />);
  const banner = getByRole("alert");
  expect(banner.textContent).toContain("No model server answers");
  expect(banner.textContent).toContain("provider ollama (http://127.0.0.1:11434): cannot connect");
  expect(banner.textContent).toContain("ollama pull qwen2.5:7b");
  expect(banner.textContent).toContain('[providers.local]\nkind = "openai"');
});

test("one reachable provider: no banner", () => {
  const up = { ...down, provider: "local", reachable: true, error: undefined, models: ["local:tiny"] };
  const { container } = render(<SetupBanner providers={[down, up]} />);
  expect(container.textContent).toBe("");
});
