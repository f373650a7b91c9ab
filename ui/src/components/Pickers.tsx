import type { ProviderModels, Skill } from "../api/client";

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
