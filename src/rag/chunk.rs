//! Heading-aware, token-bounded chunks with overlap, each with its heading
//! path and line range, keyed by the hash of its text.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::parse::{Lines, Note};

/// One piece of a note, as embedded and searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Hex sha256 of `text` (the first 16 bytes): the chunk's identity.
    pub hash: String,
    /// What is embedded and searched: the heading path on a line of its
    /// own when the piece does not start at its heading, then the lines.
    pub text: String,
    /// Headings from the top, joined by ` > ` (empty before the first).
    pub heading: String,
    /// 1-based, inclusive.
    pub line_start: u32,
    pub line_end: u32,
    pub tokens: u32,
}

/// Bounds of the chunker.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub tokens: usize,
    pub overlap: usize,
}

/// An estimate of the tokens in `text` that needs no tokenizer: a word of
/// ASCII is about one token per four letters, and any other character
/// (CJK, accents) about one each.
pub fn estimate_tokens(text: &str) -> usize {
    text.split_whitespace()
        .map(|w| {
            let ascii = w.bytes().filter(u8::is_ascii).count();
            let other = w.chars().filter(|c| !c.is_ascii()).count();
            ascii.div_ceil(4).max(usize::from(ascii > 0)) + other
        })
        .sum()
}

pub fn content_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..16].iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Cuts a parsed note into chunks.
pub fn chunk(text: &str, note: &Note, sizes: Sizes) -> Vec<Chunk> {
    let lines = Lines::new(text);
    // The front matter's block may end before or after its last newline.
    let body_line = match note.body_start {
        0 => 1,
        b if text.as_bytes().get(b - 1) == Some(&b'\n') => lines.line(b),
        b => lines.line(b) + 1,
    };
    let all: Vec<&str> = text.split('\n').collect();
    // Sections: (first line, last line, heading path, starts with heading).
    let mut sections: Vec<(u32, u32, String)> = Vec::new();
    let mut stack: Vec<(u8, String)> = Vec::new();
    let mut start = body_line;
    let mut path = String::new();
    for h in &note.headings {
        if h.line < body_line {
            continue;
        }
        if h.line > start {
            sections.push((start, h.line - 1, path.clone()));
        }
        while stack.last().is_some_and(|(l, _)| *l >= h.level) {
            stack.pop();
        }
        stack.push((h.level, h.text.clone()));
        path = stack.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" > ");
        start = h.line;
    }
    let last_line = all.len() as u32;
    if start <= last_line {
        sections.push((start, last_line, path));
    }

    let mut out = Vec::new();
    for (first, last, heading) in sections {
        let section: Vec<(u32, &str)> =
            (first..=last).filter_map(|n| all.get(n as usize - 1).map(|l| (n, *l))).collect();
        if section.iter().all(|(_, l)| l.trim().is_empty()) {
            continue;
        }
        for (a, b) in windows(&section, sizes) {
            let body: Vec<&str> = section[a..b].iter().map(|(_, l)| *l).collect();
            let body = body.join("\n");
            let body = body.trim();
            if body.is_empty() {
                continue;
            }
            let starts_at_heading = a == 0 && !heading.is_empty();
            let text = if starts_at_heading || heading.is_empty() {
                body.to_owned()
            } else {
                format!("{heading}\n{body}")
            };
            let (line_start, line_end) = trimmed_range(&section[a..b]);
            out.push(Chunk {
                hash: content_hash(&text),
                tokens: estimate_tokens(&text) as u32,
                text,
                heading: heading.clone(),
                line_start,
                line_end,
            });
        }
    }
    out
}

fn trimmed_range(lines: &[(u32, &str)]) -> (u32, u32) {
    let first = lines.iter().find(|(_, l)| !l.trim().is_empty()).map_or(lines[0].0, |(n, _)| *n);
    let last =
        lines.iter().rev().find(|(_, l)| !l.trim().is_empty()).map_or(lines[lines.len() - 1].0, |(n, _)| *n);
    (first, last)
}

/// Line windows `[a, b)` of a section, each at most `sizes.tokens` (a
/// single longer line stands alone), cut at blank lines where one is near,
/// the next starting `sizes.overlap` tokens before the end of the last.
fn windows(section: &[(u32, &str)], sizes: Sizes) -> Vec<(usize, usize)> {
    let cost: Vec<usize> = section.iter().map(|(_, l)| estimate_tokens(l).max(1)).collect();
    let total: usize = cost.iter().sum();
    if total <= sizes.tokens {
        return vec![(0, section.len())];
    }
    let mut out = Vec::new();
    let mut a = 0;
    while a < section.len() {
        let mut b = a;
        let mut sum = 0;
        while b < section.len() && (b == a || sum + cost[b] <= sizes.tokens) {
            sum += cost[b];
            b += 1;
        }
        // Prefer to end after a blank line in the second half of the window.
        if b < section.len()
            && let Some(cut) = (a + 1..b)
                .rev()
                .take_while(|&i| i > a + (b - a) / 2)
                .find(|&i| section[i].1.trim().is_empty())
        {
            b = cut + 1;
        }
        out.push((a, b));
        if b >= section.len() {
            break;
        }
        // Step back over the overlap, but always move forward.
        let mut next = b;
        let mut back = 0;
        while next > a + 1 && back + cost[next - 1] <= sizes.overlap {
            back += cost[next - 1];
            next -= 1;
        }
        a = next.max(a + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rag::parse::parse;

    #[test]
    fn sections_follow_headings_and_lines() {
        let text = "---\ntags: [x]\n---\nintro line\n\n# A\nalpha text\n## B\nbeta text\n# C\ngamma\n";
        let note = parse(text, "n");
        let chunks = chunk(text, &note, Sizes { tokens: 400, overlap: 50 });
        let got: Vec<_> = chunks.iter().map(|c| (c.heading.as_str(), c.line_start, c.line_end)).collect();
        assert_eq!(got, vec![("", 4, 4), ("A", 6, 7), ("A > B", 8, 9), ("C", 10, 11)]);
        assert_eq!(chunks[1].text, "# A\nalpha text");
        assert_eq!(chunks[0].hash.len(), 32);
    }

    #[test]
    fn long_sections_split_with_overlap() {
        let mut text = String::from("# Long\n");
        for i in 0..200 {
            let _ = writeln!(text, "line number {i} with some words in it");
        }
        let note = parse(&text, "n");
        let chunks = chunk(&text, &note, Sizes { tokens: 100, overlap: 20 });
        assert!(chunks.len() > 5, "{}", chunks.len());
        for pair in chunks.windows(2) {
            assert!(pair[1].line_start <= pair[0].line_end, "overlap");
            assert!(pair[1].line_start > pair[0].line_start, "progress");
        }
        assert!(chunks.iter().all(|c| c.tokens <= 100 + 10));
        assert!(chunks[1].text.starts_with("Long\n"));
        assert_eq!(chunks.last().unwrap().line_end, 201);
    }

    #[test]
    fn estimate_counts_non_ascii() {
        assert_eq!(estimate_tokens("hello world"), 4);
        assert_eq!(estimate_tokens("日本語"), 3);
    }
}
