import { afterEach, expect, test, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Login } from "./Login";

afterEach(() => vi.unstubAllGlobals());

const reply = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

test("trades the token for a session, or shows the server's reason", async () => {
  const seen: { url: string; body: unknown }[] = [];
  const fetchMock = vi.fn(async (req: Request) => {
    const body = (await req.json()) as { token: string };
    seen.push({ url: new URL(req.url).pathname, body });
    return body.token === "ctl_good"
      ? reply(200, { ok: true })
      : reply(401, { error: { code: "unauthorized", message: "invalid or revoked API token" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  const onIn = vi.fn();
  render(<Login onIn={onIn} />);
  const user = userEvent.setup();
  const field = screen.getByLabelText("API token");
  expect(screen.getByRole("button", { name: "log in" })).toBeDisabled();

  await user.type(field, "ctl_bad{Enter}");
  expect(await screen.findByRole("alert")).toHaveTextContent("invalid or revoked API token");
  expect(onIn).not.toHaveBeenCalled();

  await user.clear(field);
  await user.type(field, "  ctl_good  {Enter}");
  await vi.waitFor(() => expect(onIn).toHaveBeenCalledTimes(1));
  expect(seen).toEqual([
    { url: "/api/v1/login", body: { token: "ctl_bad" } },
    { url: "/api/v1/login", body: { token: "ctl_good" } },
  ]);
});
