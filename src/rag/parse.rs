//! One markdown note, read with pulldown-cmark: its front matter (title,
//! tags, aliases), headings, wikilinks and embeds, `#tags` (nested ones
//! too), and the byte offsets the chunker needs.

use pulldown_cmark::{Event, LinkType, MetadataBlockKind, Options, Parser, Tag, TagEnd};

/// What the index keeps of a note besides its chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Note {
    /// The front matter's `title`, or the file name without `.md`.
    pub title: String,
    pub aliases: Vec<String>,
    /// Tags without `#`, from the front matter and the text; a nested tag
    /// `a/b` also counts as `a`.
    pub tags: Vec<String>,
    pub headings: Vec<Heading>,
    pub links: Vec<Link>,
    /// Where the body starts (after the front matter), in bytes.
    pub body_start: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    /// Byte offset of the heading's first character.
    pub offset: usize,
    /// 1-based line.
    pub line: u32,
}

/// A `[[wikilink]]`, `![[embed]]` or a markdown link to another note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target as written, without `#heading` (`folder/Note`, `Note.md`).
    pub target: String,
    /// The `#heading` part, if any.
    pub heading: Option<String>,
    /// The `|alias` part, if any.
    pub alias: Option<String>,
    /// `![[...]]`.
    pub embed: bool,
    /// 1-based line of the link.
    pub line: u32,
}

/// The lowercase name a link resolves by: the last path component without
/// a `.md` extension (Obsidian resolves `[[Note]]` by file name).
pub fn link_key(target: &str) -> String {
    let last = target.rsplit('/').next().unwrap_or(target);
    let stem = last.strip_suffix(".md").unwrap_or(last);
    stem.trim().to_lowercase()
}

/// Byte offsets of line starts, for turning offsets into 1-based lines.
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self(starts)
    }

    /// The 1-based line holding byte `offset`.
    pub fn line(&self, offset: usize) -> u32 {
        (self.0.partition_point(|&s| s <= offset)) as u32
    }

    /// The byte offset where 1-based `line` starts.
    pub fn start(&self, line: u32) -> usize {
        self.0.get(line.saturating_sub(1) as usize).copied().unwrap_or(usize::MAX)
    }

    pub fn count(&self) -> u32 {
        self.0.len() as u32
    }
}

fn options() -> Options {
    Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
}

/// Parses a note; `stem` is its file name without `.md` (the default title).
pub fn parse(text: &str, stem: &str) -> Note {
    let lines = Lines::new(text);
    let mut note = Note { title: stem.to_owned(), ..Note::default() };
    let mut in_meta = false;
    let mut code_depth = 0usize;
    let mut heading: Option<(u8, usize, String)> = None;
    // An open link: (target, heading, embed, wiki, label wanted, label, offset).
    let mut link: Option<OpenLink> = None;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)) => in_meta = true,
            Event::End(TagEnd::MetadataBlock(_)) => {
                in_meta = false;
                note.body_start = range.end;
            }
            Event::Text(t) if in_meta => front_matter(&t, &mut note),
            Event::Start(Tag::CodeBlock(_)) => code_depth += 1,
            Event::End(TagEnd::CodeBlock) => code_depth = code_depth.saturating_sub(1),
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level as u8, range.start, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, offset, text)) = heading.take() {
                    note.headings.push(Heading {
                        level,
                        text: text.trim().to_owned(),
                        offset,
                        line: lines.line(offset),
                    });
                }
            }
            Event::Start(Tag::Link { link_type, dest_url, .. } | Tag::Image { link_type, dest_url, .. }) => {
                let embed = text.get(range.start..).is_some_and(|s| s.starts_with('!'));
                let (wiki, labelled) = match link_type {
                    LinkType::WikiLink { has_pothole } => (true, has_pothole),
                    _ => (false, true),
                };
                let dest = dest_url.to_string();
                if wiki || is_local_note(&dest) {
                    let (target, heading) = split_heading(&dest);
                    let target = if wiki { target } else { decode_url_path(&target) };
                    link = Some(OpenLink {
                        target,
                        heading,
                        embed,
                        labelled,
                        label: String::new(),
                        offset: range.start,
                    });
                }
            }
            Event::End(TagEnd::Link | TagEnd::Image) => {
                if let Some(l) = link.take() {
                    let label = l.label.trim().to_owned();
                    let alias = (l.labelled && !label.is_empty()).then_some(label);
                    if !l.target.is_empty() || l.heading.is_some() {
                        let line = lines.line(l.offset);
                        note.links.push(Link {
                            target: l.target,
                            heading: l.heading,
                            alias,
                            embed: l.embed,
                            line,
                        });
                    }
                }
            }
            Event::Text(t) => {
                if let Some((_, _, text)) = heading.as_mut() {
                    text.push_str(&t);
                }
                if let Some(l) = link.as_mut() {
                    l.label.push_str(&t);
                } else if code_depth == 0 {
                    inline_tags(&t, &mut note.tags);
                }
            }
            Event::Code(t) => {
                if let Some((_, _, text)) = heading.as_mut() {
                    text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    note.tags = expand_tags(std::mem::take(&mut note.tags));
    note
}

struct OpenLink {
    target: String,
    heading: Option<String>,
    embed: bool,
    /// Whether the link's text is an alias (a wikilink without `|` shows
    /// its own target).
    labelled: bool,
    label: String,
    offset: usize,
}

fn is_local_note(dest: &str) -> bool {
    let path = dest.split('#').next().unwrap_or(dest);
    let md = path.len() > 3 && path.get(path.len() - 3..).is_some_and(|e| e.eq_ignore_ascii_case(".md"));
    !dest.contains("://") && !dest.starts_with("mailto:") && (md || path.is_empty() && !dest.is_empty())
}

fn split_heading(dest: &str) -> (String, Option<String>) {
    match dest.split_once('#') {
        Some((t, h)) => (t.trim().to_owned(), Some(h.trim().to_owned()).filter(|h| !h.is_empty())),
        None => (dest.trim().to_owned(), None),
    }
}

/// `%20` and friends in a markdown link's path.
fn decode_url_path(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// `#tag` and `#nested/tag` in running text: after a start or a space, at
/// least one character that is not a digit.
fn inline_tags(text: &str, out: &mut Vec<String>) {
    let mut prev: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '#' && prev.is_none_or(char::is_whitespace) {
            let rest = &text[i + 1..];
            let end = rest
                .find(|ch: char| !(ch.is_alphanumeric() || matches!(ch, '_' | '-' | '/')))
                .unwrap_or(rest.len());
            let tag = rest[..end].trim_end_matches('/');
            if !tag.is_empty() && tag.chars().any(|ch| !ch.is_ascii_digit()) {
                out.push(tag.to_owned());
            }
        }
        prev = Some(c);
        let _ = chars.peek();
    }
}

/// Deduplicated, lowercase, with every parent of a nested tag.
fn expand_tags(tags: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().trim_start_matches('#').to_lowercase();
        let mut prefix = String::new();
        for part in tag.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if !out.contains(&prefix) {
                out.push(prefix.clone());
            }
        }
    }
    out
}

fn front_matter(yaml: &str, note: &mut Note) {
    use yaml_rust2::{Yaml, YamlLoader};
    let Ok(docs) = YamlLoader::load_from_str(yaml) else { return };
    let Some(Yaml::Hash(map)) = docs.into_iter().next() else { return };
    let list = |v: &Yaml| -> Vec<String> {
        match v {
            Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
            other => scalar(other)
                .map(|s| s.split([',', ' ']).filter(|p| !p.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
        }
    };
    for (k, v) in &map {
        match k.as_str().map(str::to_lowercase).as_deref() {
            Some("title") => {
                if let Some(t) = scalar(v).filter(|t| !t.trim().is_empty()) {
                    t.trim().clone_into(&mut note.title);
                }
            }
            Some("tags" | "tag") => note.tags.extend(list(v)),
            Some("aliases" | "alias") => note.aliases.extend(match v {
                Yaml::Array(items) => items.iter().filter_map(scalar).collect::<Vec<_>>(),
                other => scalar(other).into_iter().collect(),
            }),
            _ => {}
        }
    }
}

fn scalar(v: &yaml_rust2::Yaml) -> Option<String> {
    use yaml_rust2::Yaml;
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obsidian_edge_cases() {
        let text = "---\ntitle: Ünïcode Nöte\ntags: [project/alpha, Ideas]\naliases:\n  - UN\n---\n\
                    # Top\nSee [[Other Note]] and [[folder/Deep#Section 2|the deep one]].\n\
                    ![[diagram.png]] ![[Embedded]] #status/open/now and #42 not a tag.\n\n\
                    ## Second `code`\n```\n#notatag [[notalink]]\n```\n[md](other%20note.md#h) [web](https://x.org/a.md)\n";
        let note = parse(text, "file");
        assert_eq!(note.title, "Ünïcode Nöte");
        assert_eq!(note.aliases, vec!["UN"]);
        assert_eq!(
            note.tags,
            vec!["project", "project/alpha", "ideas", "status", "status/open", "status/open/now"]
        );
        assert_eq!(note.headings.len(), 2);
        assert_eq!(note.headings[0].text, "Top");
        assert_eq!(note.headings[0].line, 7);
        assert_eq!(note.headings[1].text, "Second code");
        let links: Vec<_> = note
            .links
            .iter()
            .map(|l| (l.target.as_str(), l.heading.as_deref(), l.alias.as_deref(), l.embed))
            .collect();
        assert_eq!(
            links,
            vec![
                ("Other Note", None, None, false),
                ("folder/Deep", Some("Section 2"), Some("the deep one"), false),
                ("diagram.png", None, None, true),
                ("Embedded", None, None, true),
                ("other note.md", Some("h"), Some("md"), false),
            ]
        );
        assert_eq!(link_key("folder/Deep.md"), "deep");
        assert!(note.body_start > 0);
    }

    #[test]
    fn lines_map_offsets() {
        let l = Lines::new("a\nbc\n\nd");
        assert_eq!((l.line(0), l.line(2), l.line(5), l.line(6)), (1, 2, 3, 4));
        assert_eq!(l.start(2), 2);
    }
}
