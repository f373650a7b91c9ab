// The first run: when no configured model server answers, say so on every
// page, with what was found and the two ways to fix it, instead of letting
// the first chat fail.
import { useState } from "react";
import type { ProviderModels } from "../api/client";
import { useModels } from "../lib/data";

const OPENAI_CONFIG = `default_model = "local:MODEL"

[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
api_key_env = "LOCAL_API_KEY"   # only if the server needs a key`;

/** The banner for these providers' checks; nothing when one answers. */
export function SetupBanner({ providers, onDismiss }: { providers: ProviderModels[]; onDismiss?: () => void }) {
  if (providers.length === 0 || providers.some((p) => p.reachable)) return null;
  return (
    <section className="setup-banner" role="alert" aria-label="no model server answers">
      <p>
        <strong>No model server answers</strong>, so chats and jobs will fail until one does. What{" "}
        <code>ctl doctor</code> finds:
      </p>
      <ul>
        {providers.map((p) => (
          <li key={p.provider}>
            provider <code>{p.provider}</code> ({p.base_url}): {p.error ?? "unreachable"}
          </li>
        ))}
      </ul>
      <p>Fix it one of two ways:</p>
      <ol>
        <li>
          Start <a href="https://ollama.com">Ollama</a> and fetch a model:
          <pre>{"ollama serve &\nollama pull qwen2.5:7b"}</pre>
        </li>
        <li>
          Or point ctl at any OpenAI-compatible server (llama.cpp&apos;s llama-server, vLLM, LM Studio, OpenRouter,
          OpenAI): add this to <code>~/.config/ctl/ctl.toml</code> and restart ctl:
          <pre>{OPENAI_CONFIG}</pre>
        </li>
      </ol>
      {onDismiss && (
        <button type="button" className="ghost" onClick={onDismiss}>
          dismiss
        </button>
      )}
    </section>
  );
}

/** Asks the server which providers answer, and shows the banner if none
 * does. Always one element, so the page's grid keeps its rows. */
export function SetupCheck() {
  const { data } = useModels();
  const [dismissed, setDismissed] = useState(false);
  return (
    <div className="setup">
      {data && !dismissed && <SetupBanner providers={data} onDismiss={() => setDismissed(true)} />}
    </div>
  );
}
