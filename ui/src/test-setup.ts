import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// Unmount what each test rendered, so no timer (a running tool call counts
// its seconds) fires after the test's DOM is gone.
afterEach(() => cleanup());
