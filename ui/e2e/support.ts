// Helpers shared by the browser tests: job states from the API, and the
// text a browser shows for an answer.
import { JSDOM } from "jsdom";
import { renderMarkdown } from "../src/components/Markdown";
import { sleep, type Up } from "./harness";

export interface Job {
  id: string;
  state: string;
  output: string;
  usage?: { completion_tokens: number } | null;
}

/** The text a browser shows for `markdown`, as the UI renders it. */
export const shownText = (markdown: string) => new JSDOM(renderMarkdown(markdown)).window.document.body.textContent?.trim();

/** Polls the job until it reaches one of `states`. */
export async function waitJob(up: Up, id: string, states = ["completed", "failed", "cancelled"]): Promise<Job> {
  for (let i = 0; i < 600; i++) {
    const j = await up.call<Job>("GET", `/api/v1/jobs/${id}`);
    if (states.includes(j.state)) return j;
    await sleep(100);
  }
  throw new Error(`job ${id} did not reach ${states.join("/")}`);
}
