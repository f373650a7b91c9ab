import { expect, test, vi } from "vitest";
import { fireEvent, render, waitFor } from "@testing-library/react";
import { Markdown } from "./Markdown";

test("raw HTML and script links in model output stay inert text", () => {
  const { container } = render(
    <Markdown text={'<script>alert(1)</script> <img src=x onerror=alert(1)> [click](javascript:alert(1))'} />,
  );
  expect(container.querySelector("script")).toBeNull();
  expect(container.querySelector("img")).toBeNull();
  expect(container.querySelector("a")).toBeNull();
  expect(container.textContent).toContain("<script>alert(1)</script>");
});

test("links open in a new tab without the opener", () => {
  const { container } = render(<Markdown text="see [docs](https://example.org/x)" />);
  const a = container.querySelector("a");
  expect(a?.getAttribute("href")).toBe("https://example.org/x");
  expect(a?.getAttribute("target")).toBe("_blank");
  expect(a?.getAttribute("rel")).toBe("noopener noreferrer");
});

test("code blocks are highlighted and copy their exact text", async () => {
  const writeText = vi.fn().mockResolvedValue(undefined);
  Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
  const code = 'fn main() {\n    println!("<hi>");\n}';
  const { container, getByRole } = render(<Markdown text={"```rust\n" + code + "\n```"} />);
  expect(container.querySelector("code.hljs .hljs-keyword")?.textContent).toBe("fn");
  expect(container.querySelector(".code-lang")?.textContent).toBe("rust");
  fireEvent.click(getByRole("button", { name: "Copy code" }));
  await waitFor(() => expect(writeText).toHaveBeenCalledWith(code + "\n"));
  await waitFor(() => expect(getByRole("button", { name: "Copy code" }).textContent).toBe("copied"));
});
