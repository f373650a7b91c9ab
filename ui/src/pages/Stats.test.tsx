import { expect, test } from "vitest";
import { render } from "@testing-library/react";
import { Chart } from "./Stats";

test("one bar per day, scaled to the busiest", () => {
  const days = [
    { day: "2026-11-25", jobs: 2, prompt: 10, completion: 30 },
    { day: "2026-11-26", jobs: 4, prompt: 20, completion: 60 },
  ];
  const { container, getByRole } = render(<Chart days={days} metric="tokens" />);
  expect(getByRole("img").getAttribute("aria-label")).toBe("tokens per day, 2 days, peak 80");
  const bars = [...container.querySelectorAll("rect.bar:not(.prompt)")].slice(0, 2);
  const h = bars.map((r) => Number(r.getAttribute("height")));
  expect(h[1]).toBeCloseTo(h[0]! * 2, 5);
  const jobs = render(<Chart days={days} metric="jobs" />);
  expect(jobs.container.querySelector("svg")?.getAttribute("aria-label")).toBe("jobs per day, 2 days, peak 4");
});
