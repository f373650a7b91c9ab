//! Reading SKILL.md front matter: the cut at the `---` lines and a YAML
//! reader that refuses anchors, aliases, merge keys and tags as it meets them.
//!
//! The front matter is read as a stream of YAML events rather than
//! deserialized: an anchor or alias is refused at its first event, before
//! anything could be expanded, so a billion-laughs document costs no more
//! than reading its first few lines. Every event carries its line, which is
//! how errors and warnings name one. Only two levels are kept (the keys and
//! `metadata`); anything deeper is skipped, since it is a type error anyway.

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::{MAX_FRONT_MATTER_BYTES, MAX_SKILL_BYTES, SkillError, Warning};

const NO_ANCHORS: &str = "YAML anchors and aliases (&name, *name) are not allowed in front matter";

/// The file being read, for messages.
pub(super) struct At<'a>(pub &'a str);

impl At<'_> {
    pub(super) fn line(&self, line: usize, message: impl Into<String>) -> SkillError {
        SkillError::new(format!("{}:{line}", self.0), message)
    }

    pub(super) fn file(&self, message: impl Into<String>) -> SkillError {
        SkillError::new(self.0, message)
    }

    pub(super) fn warn(&self, line: usize, message: impl Into<String>) -> Warning {
        Warning { location: format!("{}:{line}", self.0), message: message.into() }
    }
}

/// SKILL.md cut at its `---` lines.
pub(super) struct FrontMatter<'a> {
    /// The YAML between the fences; it starts on line 2.
    pub yaml: &'a str,
    pub body: &'a str,
    /// The line the body starts on.
    pub body_line: usize,
}

fn is_fence(line: &str) -> bool {
    line.trim_end() == "---"
}

pub(super) fn split<'a>(text: &'a str, at: &At<'_>) -> Result<FrontMatter<'a>, SkillError> {
    if text.len() > MAX_SKILL_BYTES {
        return Err(at.file(format!(
            "SKILL.md is {} bytes; the limit is {} KiB",
            text.len(),
            MAX_SKILL_BYTES / 1024
        )));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if !lines.next().is_some_and(is_fence) {
        return Err(at.line(
            1,
            "SKILL.md must start with YAML front matter: a \"---\" line, the keys, then another \"---\" line",
        ));
    }
    let start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut end = start;
    for (i, line) in lines.enumerate() {
        if is_fence(line) {
            let yaml = &text[start..end];
            if yaml.len() > MAX_FRONT_MATTER_BYTES {
                return Err(at.line(
                    1,
                    format!(
                        "the front matter is {} bytes; the limit is {} KiB",
                        yaml.len(),
                        MAX_FRONT_MATTER_BYTES / 1024
                    ),
                ));
            }
            return Ok(FrontMatter { yaml, body: &text[end + line.len()..], body_line: i + 3 });
        }
        end += line.len();
    }
    Err(at.line(1, "the front matter is not closed: no \"---\" line after the opening one"))
}

/// A scalar's type under the YAML 1.2 core schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Str,
    Null,
    Bool,
    Int,
    Float,
}

/// What the front matter holds, two levels deep; deeper collections are
/// skipped (they are always a type error).
#[derive(Debug)]
pub(super) enum Node {
    Scalar(String, Kind),
    List,
    Map(Vec<Entry>),
}

impl Node {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Node::Scalar(_, Kind::Str) => "a string",
            Node::Scalar(_, Kind::Null) => "empty",
            Node::Scalar(_, Kind::Bool) => "a boolean",
            Node::Scalar(_, Kind::Int | Kind::Float) => "a number",
            Node::List => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

#[derive(Debug)]
pub(super) struct Entry {
    pub key: String,
    /// The line of the key in SKILL.md.
    pub line: usize,
    pub value: Node,
}

/// Reads the front matter into entries; refuses anchors, aliases, merge
/// keys and tags at the event that carries them.
pub(super) fn read_front_matter(yaml: &str, at: &At<'_>) -> Result<Vec<Entry>, SkillError> {
    let mut r = Reader { events: Parser::new_from_str(yaml), at };
    let empty = || at.line(1, "the front matter is empty: \"name\" and \"description\" are required");
    loop {
        match r.next()? {
            (Event::StreamStart, _) => {}
            (Event::DocumentStart, _) => break,
            _ => return Err(empty()),
        }
    }
    let entries = match r.next()? {
        (Event::MappingStart(..), _) => r.entries(1)?,
        (Event::Scalar(s, TScalarStyle::Plain, ..), _) if s.is_empty() => return Err(empty()),
        (_, line) => return Err(at.line(line, "the front matter must be a YAML mapping of keys to values")),
    };
    loop {
        match r.next()? {
            (Event::DocumentEnd, _) => {}
            (Event::StreamEnd, _) => return Ok(entries),
            (_, line) => return Err(at.line(line, "the front matter must hold a single YAML document")),
        }
    }
}

struct Reader<'a> {
    events: Parser<std::str::Chars<'a>>,
    at: &'a At<'a>,
}

impl Reader<'_> {
    /// The next event and its line in SKILL.md (the YAML starts on line 2).
    fn next(&mut self) -> Result<(Event, usize), SkillError> {
        let (event, mark) = self.events.next_token().map_err(|e| {
            let line = e.marker().line() + 1;
            if e.info().contains("anchor") {
                self.at.line(line, NO_ANCHORS)
            } else {
                self.at.line(line, format!("invalid YAML: {}", e.info()))
            }
        })?;
        let line = mark.line() + 1;
        let (anchor, tag, allowed) = match &event {
            Event::Alias(_) => return Err(self.at.line(line, NO_ANCHORS)),
            Event::Scalar(_, _, anchor, tag) => (*anchor, tag, "str"),
            Event::SequenceStart(anchor, tag) => (*anchor, tag, "seq"),
            Event::MappingStart(anchor, tag) => (*anchor, tag, "map"),
            _ => return Ok((event, line)),
        };
        if anchor != 0 {
            return Err(self.at.line(line, NO_ANCHORS));
        }
        if let Some(tag) = tag
            && !(is_core(tag) && tag.suffix == allowed)
        {
            let shown = if is_core(tag) {
                format!("!!{}", tag.suffix)
            } else {
                format!("{}{}", tag.handle, tag.suffix)
            };
            return Err(self.at.line(line, format!("YAML tags ({shown}) are not allowed in front matter")));
        }
        Ok((event, line))
    }

    /// The pairs of the mapping just started, up to its end.
    fn entries(&mut self, depth: usize) -> Result<Vec<Entry>, SkillError> {
        let mut out = Vec::new();
        loop {
            let key = match self.next()? {
                (Event::MappingEnd, _) => return Ok(out),
                (Event::Scalar(key, ..), line) => (key, line),
                (_, line) => return Err(self.at.line(line, "front matter keys must be plain strings")),
            };
            if key.0 == "<<" {
                return Err(self.at.line(key.1, "YAML merge keys (<<) are not allowed in front matter"));
            }
            let (first, line) = self.next()?;
            let value = self.node(first, line, depth)?;
            out.push(Entry { key: key.0, line: key.1, value });
        }
    }

    /// The node that starts with `first`. Mappings are read up to depth 2
    /// (the top level and `metadata`); lists and deeper mappings are skipped.
    fn node(&mut self, first: Event, line: usize, depth: usize) -> Result<Node, SkillError> {
        match first {
            Event::Scalar(s, style, _, tag) => {
                let kind =
                    if style == TScalarStyle::Plain && tag.is_none() { resolve(&s) } else { Kind::Str };
                Ok(Node::Scalar(s, kind))
            }
            Event::MappingStart(..) if depth < 2 => Ok(Node::Map(self.entries(depth + 1)?)),
            Event::MappingStart(..) => {
                self.skip()?;
                Ok(Node::Map(Vec::new()))
            }
            Event::SequenceStart(..) => {
                self.skip()?;
                Ok(Node::List)
            }
            _ => Err(self.at.line(line, "invalid YAML: a value is missing")),
        }
    }

    /// Skips the rest of the collection just started (still checking every
    /// event). Iterative, so deep nesting cannot exhaust the stack.
    fn skip(&mut self) -> Result<(), SkillError> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                (Event::SequenceStart(..) | Event::MappingStart(..), _) => depth += 1,
                (Event::SequenceEnd | Event::MappingEnd, _) => depth -= 1,
                (Event::StreamEnd, line) => return Err(self.at.line(line, "invalid YAML: unexpected end")),
                _ => {}
            }
        }
        Ok(())
    }
}

fn is_core(tag: &Tag) -> bool {
    tag.handle == "tag:yaml.org,2002:"
}

/// The type of a plain scalar under the YAML 1.2 core schema.
pub(super) fn resolve(s: &str) -> Kind {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Kind::Bool,
        _ if is_int(s) => Kind::Int,
        _ if is_float(s) => Kind::Float,
        _ => Kind::Str,
    }
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn is_int(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    (!unsigned.is_empty() && digits(unsigned))
        || s.strip_prefix("0o")
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || s.strip_prefix("0x").is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `.inf`, `.nan`.
fn is_float(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty()),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    exponent_ok && mantissa_ok
}
