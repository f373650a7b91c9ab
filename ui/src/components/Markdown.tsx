// Model output rendered as markdown. Raw HTML in the source is escaped
// (markdown-it `html: false`) and markdown-it refuses javascript: and
// similar links, so a hostile answer cannot run script. Code blocks are
// highlighted and get a copy button.
import { memo, useCallback, useMemo } from "react";
import MarkdownIt from "markdown-it";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const languages = { bash, css, diff, go, javascript, json, markdown, python, rust, sql, typescript, xml, yaml };
for (const [name, lang] of Object.entries(languages)) hljs.registerLanguage(name, lang);
hljs.registerAliases(["sh", "shell", "zsh"], { languageName: "bash" });
hljs.registerAliases(["js", "jsx"], { languageName: "javascript" });
hljs.registerAliases(["ts", "tsx"], { languageName: "typescript" });
hljs.registerAliases(["py"], { languageName: "python" });
hljs.registerAliases(["rs"], { languageName: "rust" });
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["yml"], { languageName: "yaml" });
hljs.registerAliases(["md"], { languageName: "markdown" });

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const md = new MarkdownIt({
  html: false,
  linkify: true,
  breaks: false,
  highlight(code, lang) {
    const name = lang.trim().split(/\s+/)[0] ?? "";
    const label = name ? `<span class="code-lang">${escape(name)}</span>` : "";
    let body = escape(code);
    if (name && hljs.getLanguage(name)) {
      try {
        body = hljs.highlight(code, { language: name, ignoreIllegals: true }).value;
      } catch {
        /* fall back to plain text */
      }
    }
    return (
      `<pre class="code"><div class="code-bar">${label}` +
      `<button type="button" class="copy" data-copy aria-label="Copy code">copy</button></div>` +
      `<code class="hljs">${body}</code></pre>`
    );
  },
});

// Links open in a new tab, without handing it this page.
type Rule = NonNullable<typeof md.renderer.rules.link_open>;
const defaultLink: Rule = md.renderer.rules.link_open ?? ((t, i, o, _e, self) => self.renderToken(t, i, o));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const t = tokens[idx];
  t?.attrSet("target", "_blank");
  t?.attrSet("rel", "noopener noreferrer");
  return defaultLink(tokens, idx, options, env, self);
};

export function renderMarkdown(text: string): string {
  return md.render(text);
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Not a secure context (plain http on a LAN address): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

export const Markdown = memo(function Markdown({ text, className }: { text: string; className?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  const onClick = useCallback((e: React.MouseEvent<HTMLDivElement>) => {
    const button = (e.target as HTMLElement).closest("button[data-copy]");
    const code = button?.closest("pre")?.querySelector("code");
    if (!button || !code) return;
    void copyText(code.textContent ?? "").then((ok) => {
      button.textContent = ok ? "copied" : "copy failed";
      window.setTimeout(() => (button.textContent = "copy"), 1500);
    });
  }, []);
  return <div className={`md ${className ?? ""}`} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
});
