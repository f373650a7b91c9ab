// Two outputs compared line by line, with the changed words inside a
// changed line marked; unified or side by side.
import { useMemo } from "react";
import { diffLines, diffWordsWithSpace, type Change } from "diff";

export type Row =
  | { kind: "same"; a: string; b: string; an: number; bn: number }
  | { kind: "change"; a?: string; b?: string; an?: number; bn?: number };

/** Pairs removed and added lines so each pair can show word changes. */
export function diffRows(a: string, b: string): Row[] {
  const parts = diffLines(a, b);
  const rows: Row[] = [];
  let an = 1;
  let bn = 1;
  const lines = (c: Change) => c.value.replace(/\n$/, "").split("\n");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (!p.added && !p.removed) {
      for (const l of lines(p)) rows.push({ kind: "same", a: l, b: l, an: an++, bn: bn++ });
      continue;
    }
    const removed = p.removed ? lines(p) : [];
    const next = parts[i + 1];
    const added = p.added ? lines(p) : next?.added ? lines(next) : [];
    if (p.removed && next?.added) i++;
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const ra = removed[k];
      const rb = added[k];
      rows.push({ kind: "change", a: ra, b: rb, an: ra !== undefined ? an++ : undefined, bn: rb !== undefined ? bn++ : undefined });
    }
  }
  return rows;
}

function Words({ a, b, side }: { a: string; b: string; side: "a" | "b" }) {
  const parts = useMemo(() => diffWordsWithSpace(a, b), [a, b]);
  return (
    <>
      {parts.map((p, i) =>
        p.added ? (side === "b" ? <ins key={i}>{p.value}</ins> : null) : p.removed ? (side === "a" ? <del key={i}>{p.value}</del> : null) : <span key={i}>{p.value}</span>,
      )}
    </>
  );
}

function Cell({ row, side }: { row: Row; side: "a" | "b" }) {
  const text = side === "a" ? row.a : row.b;
  if (text === undefined) return <span className="blank" />;
  if (row.kind === "change" && row.a !== undefined && row.b !== undefined) return <Words a={row.a} b={row.b} side={side} />;
  return <>{text}</>;
}

export function DiffView({ a, b, mode }: { a: string; b: string; mode: "unified" | "split" }) {
  const rows = useMemo(() => diffRows(a, b), [a, b]);
  if (a === b) return <p className="dim">The outputs are the same.</p>;
  if (mode === "split") {
    return (
      <table className="diff split" aria-label="side by side diff">
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td className="ln">{r.an ?? ""}</td>
              <td className={r.kind === "change" && r.a !== undefined ? "del" : ""}>
                <Cell row={r} side="a" />
              </td>
              <td className="ln">{r.bn ?? ""}</td>
              <td className={r.kind === "change" && r.b !== undefined ? "add" : ""}>
                <Cell row={r} side="b" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return (
    <table className="diff unified" aria-label="unified diff">
      <tbody>
        {rows.flatMap((r, i) =>
          r.kind === "same"
            ? [
                <tr key={i}>
                  <td className="ln">{r.an}</td>
                  <td className="ln">{r.bn}</td>
                  <td> {r.a}</td>
                </tr>,
              ]
            : [
                r.a !== undefined && (
                  <tr key={`${i}a`} className="del">
                    <td className="ln">{r.an}</td>
                    <td className="ln" />
                    <td>
                      -<Cell row={r} side="a" />
                    </td>
                  </tr>
                ),
                r.b !== undefined && (
                  <tr key={`${i}b`} className="add">
                    <td className="ln" />
                    <td className="ln">{r.bn}</td>
                    <td>
                      +<Cell row={r} side="b" />
                    </td>
                  </tr>
                ),
              ].filter(Boolean),
        )}
      </tbody>
    </table>
  );
}
