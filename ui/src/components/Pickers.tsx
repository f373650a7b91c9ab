import type { ProviderModels, Skill, ToolInfo } from "../api/client";

export function ModelPicker({
  providers,
  value,
  onChange,
  id = "model",
}: {
  providers: ProviderModels[] | undefined;
  value: string;
  onChange: (m: string) => void;
  id?: string;
}) {
  const known = (providers ?? []).flatMap((p) => p.models);
  return (
    <select id={id} aria-label="model" value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">default model</option>
      {value && !known.includes(value) && <option value={value}>{value}</option>}
      {(providers ?? []).map((p) => (
        <optgroup key={p.provider} label={p.reachable ? p.provider : `${p.provider} (unreachable)`}>
          {p.models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}

export function SkillPicker({
  skills,
  value,
  onChange,
}: {
  skills: Skill[] | undefined;
  value: string[];
  onChange: (s: string[]) => void;
}) {
  const toggle = (name: string) =>
    onChange(value.includes(name) ? value.filter((n) => n !== name) : [...value, name]);
  return (
    <details className="picker">
      <summary aria-label="skills">{value.length ? `skills: ${value.join(", ")}` : "skills"}</summary>
      <fieldset>
        <legend className="sr-only">skills for the next message</legend>
        {(skills ?? []).length === 0 && <p className="dim">No skills found.</p>}
        {(skills ?? []).map((s) => (
          <label key={s.name} title={s.description}>
            <input type="checkbox" checked={value.includes(s.name)} onChange={() => toggle(s.name)} />
            <span>{s.name}</span>
            <span className="dim"> {s.description.slice(0, 70)}</span>
          </label>
        ))}
      </fieldset>
    </details>
  );
}

/** What the traits of a tool mean for the reader, in a word each. */
function traitWords(t: ToolInfo): string[] {
  const w: string[] = [];
  if (t.traits.private) w.push("reads private data");
  if (t.traits.egress) w.push("sends data out");
  if (t.traits.untrusted) w.push("untrusted output");
  if (!t.traits.read_only) w.push("has effects");
  return w;
}

/**
 * The tools the model may call, and how it picks them: by itself (`auto`),
 * at least one (`required`), or one named call and then an answer in text
 * (`NAME,none`: one choice per round).
 */
export function ToolPicker({
  tools,
  value,
  onChange,
  choice,
  onChoice,
}: {
  tools: ToolInfo[] | undefined;
  value: string[];
  onChange: (t: string[]) => void;
  choice: string;
  onChoice: (c: string) => void;
}) {
  const toggle = (name: string) =>
    onChange(value.includes(name) ? value.filter((n) => n !== name) : [...value, name]);
  const forced = value.map((t) => `${t},none`);
  const shown = choice && (choice === "required" ? value.length > 0 : forced.includes(choice)) ? choice : "";
  return (
    <details className="picker tools-picker">
      <summary aria-label="tools">{value.length ? `tools: ${value.join(", ")}` : "tools"}</summary>
      <fieldset>
        <legend className="sr-only">tools for the next message</legend>
        {(tools ?? []).length === 0 && <p className="dim">No tools are enabled (see [tools] in the config).</p>}
        {(tools ?? []).map((t) => (
          <label key={t.name} title={[t.description, ...traitWords(t)].join("\n")}>
            <input type="checkbox" checked={value.includes(t.name)} onChange={() => toggle(t.name)} />
            <span>{t.name}</span>
            <span className="dim"> {traitWords(t).join(", ") || t.description.slice(0, 60)}</span>
          </label>
        ))}
        {value.length > 0 && (
          <label className="tool-choice">
            <span className="dim">calls</span>
            <select aria-label="tool choice" value={shown} onChange={(e) => onChoice(e.target.value)}>
              <option value="">the model decides</option>
              <option value="required">at least one call</option>
              {value.map((t) => (
                <option key={t} value={`${t},none`}>
                  {t} once, then answer
                </option>
              ))}
            </select>
          </label>
        )}
      </fieldset>
    </details>
  );
}

/** Retrieval for the next message: on or off, which vault, and how the answer uses it. */
export interface RagChoice {
  on: boolean;
  /** Empty: the configured default vault. */
  vault: string;
  mode: "augment" | "context-only";
}

export function RagPicker({
  value,
  onChange,
  vaults,
}: {
  value: RagChoice;
  onChange: (r: RagChoice) => void;
  /** Vaults known to the server, for suggestions. */
  vaults?: string[];
}) {
  const set = (patch: Partial<RagChoice>) => onChange({ ...value, ...patch });
  return (
    <details className="picker rag-picker">
      <summary aria-label="retrieval">{value.on ? `RAG: ${value.vault || "default vault"}` : "RAG"}</summary>
      <fieldset>
        <legend className="sr-only">answer the next message from a vault</legend>
        <label>
          <input type="checkbox" checked={value.on} onChange={(e) => set({ on: e.target.checked })} />
          <span>answer from the vault, with sources</span>
        </label>
        <label className="rag-field">
          <span className="dim">vault</span>
          <input
            type="text"
            aria-label="vault"
            list="rag-vaults"
            placeholder="default vault"
            value={value.vault}
            onChange={(e) => set({ vault: e.target.value.trim() })}
          />
          <datalist id="rag-vaults">
            {(vaults ?? []).map((v) => (
              <option key={v} value={v} />
            ))}
          </datalist>
        </label>
        <label className="rag-field">
          <span className="dim">use</span>
          <select aria-label="retrieval mode" value={value.mode} onChange={(e) => set({ mode: e.target.value as RagChoice["mode"] })}>
            <option value="augment">sources and the model's knowledge</option>
            <option value="context-only">only the sources</option>
          </select>
        </label>
      </fieldset>
    </details>
  );
}
