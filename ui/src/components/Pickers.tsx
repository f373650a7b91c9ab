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
