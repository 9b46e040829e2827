//! Fix templates: parsing `$VAR`, `$$$VAR`, transformed variables and our
//! `$?HOLE`s, and rendering them for one match with ast-grep's indentation
//! rules (so Python stays valid and output equals ast-grep's byte for byte):
//!
//! 1. a multi-line metavariable value is de-indented by the indentation of
//!    the line it starts on, then re-indented by the indentation of the
//!    template line it is inserted into;
//! 2. every line of the rendered template after the first is indented by the
//!    indentation of the line where the match starts.
//!
//! Indentation here is a run of spaces at the start of a line, as in
//! ast-grep (tabs count as no indentation).

use super::transform::DerivedVars;
use crate::matcher::{pattern::is_var_char, Binding, Env};

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Text(String),
    /// `$NAME` or `$$$NAME`; `indent` is the template line's indentation.
    Var {
        name: String,
        indent: usize,
    },
    /// `$?NAME`, filled later by the denoiser.
    Hole {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

/// Rendered replacement text; holes are empty and listed with their byte
/// offsets into `text`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rendered {
    pub text: String,
    pub holes: Vec<(String, usize)>,
}

/// Leading spaces of the line that contains `offset` — ast-grep's
/// `get_indent_at_offset`: a run of spaces right after the line start.
pub fn indent_at(src: &str, offset: usize) -> usize {
    let before = &src[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    // ast-grep only looks back 512 bytes; lines longer than that get none.
    if offset - line_start > 512 {
        return 0;
    }
    let line = &before[line_start..];
    // The count of spaces after the last non-space before the newline,
    // scanning backwards, i.e. the leading run if the rest is not spaces.
    let mut indent = 0;
    for c in line.chars().rev() {
        if c == ' ' {
            indent += 1;
        } else {
            indent = 0;
        }
    }
    indent
}

impl Template {
    pub fn parse(src: &str) -> Template {
        let mut segments = Vec::new();
        let mut text = String::new();
        let bytes = src.as_bytes();
        let mut i = 0;
        while i < src.len() {
            if bytes[i] == b'$' {
                // `$?NAME`: a hole.
                if bytes.get(i + 1) == Some(&b'?') {
                    let name_len = src[i + 2..]
                        .find(|c: char| !is_var_char(c))
                        .unwrap_or(src.len() - i - 2);
                    if name_len > 0 {
                        if !text.is_empty() {
                            segments.push(Segment::Text(std::mem::take(&mut text)));
                        }
                        segments.push(Segment::Hole {
                            name: src[i + 2..i + 2 + name_len].to_string(),
                        });
                        i += 2 + name_len;
                        continue;
                    }
                }
                // Up to three sigils, then a name.
                let mut sigils = 1;
                while sigils < 3 && bytes.get(i + sigils) == Some(&b'$') {
                    sigils += 1;
                }
                let start = i + sigils;
                let name_len = src[start..]
                    .find(|c: char| !is_var_char(c))
                    .unwrap_or(src.len() - start);
                if name_len > 0 {
                    // Indentation of the template line this variable is on
                    // (measured on the raw template, as ast-grep 0.51 does).
                    let indent = indent_at(src, i);
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Var {
                        name: src[start..start + name_len].to_string(),
                        indent,
                    });
                    i = start + name_len;
                    continue;
                }
                text.push('$');
                i += 1;
                continue;
            }
            let c = src[i..].chars().next().expect("char boundary");
            text.push(c);
            i += c.len_utf8();
        }
        if !text.is_empty() {
            segments.push(Segment::Text(text));
        }
        Template { segments }
    }

    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    pub fn holes(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Hole { name } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Renders the template for a match whose node starts at `site_start` in
    /// `src`.
    pub fn render(
        &self,
        env: &Env,
        transformed: &DerivedVars,
        src: &str,
        site_start: usize,
    ) -> Rendered {
        let mut pieces: Vec<Piece> = Vec::new();
        for seg in &self.segments {
            match seg {
                Segment::Text(t) => pieces.push(Piece::Text(t.clone())),
                Segment::Hole { name } => pieces.push(Piece::Hole(name.clone())),
                Segment::Var { name, indent } => {
                    if let Some(t) = transformed.get(name) {
                        // Re-indented like the code it was derived from.
                        let text = if t.text.contains('\n') {
                            reindent(&t.text, indent_at(src, t.origin), *indent)
                        } else {
                            t.text.clone()
                        };
                        pieces.push(Piece::Text(text));
                        continue;
                    }
                    let range = match env.get(name) {
                        Some(Binding::Single(n)) => n.byte_range(),
                        Some(Binding::Multi(nodes)) => match (nodes.first(), nodes.last()) {
                            (Some(a), Some(b)) => a.start_byte()..b.end_byte(),
                            _ => continue,
                        },
                        None => continue,
                    };
                    let value = &src[range.clone()];
                    if !value.contains('\n') {
                        pieces.push(Piece::Text(value.to_string()));
                        continue;
                    }
                    let own = indent_at(src, range.start);
                    pieces.push(Piece::Text(reindent(value, own, *indent)));
                }
            }
        }
        let site_indent = indent_at(src, site_start);
        let pad = " ".repeat(site_indent);
        let mut out = Rendered::default();
        for p in pieces {
            match p {
                Piece::Text(t) => {
                    if site_indent == 0 {
                        out.text.push_str(&t);
                    } else {
                        out.text.push_str(&t.replace('\n', &format!("\n{pad}")));
                    }
                }
                Piece::Hole(name) => out.holes.push((name, out.text.len())),
            }
        }
        out
    }
}

enum Piece {
    Text(String),
    Hole(String),
}

/// Moves a multi-line value from its own indentation to the template's,
/// as ast-grep 0.51 does: with more indentation than the template wants,
/// every later line loses the difference where it has that many leading
/// spaces (other lines are kept); with less, every later line gains it.
fn reindent(value: &str, own: usize, to: usize) -> String {
    use std::cmp::Ordering;
    match own.cmp(&to) {
        Ordering::Equal => value.to_string(),
        Ordering::Greater => {
            let prefix = " ".repeat(own - to);
            value
                .split('\n')
                .map(|l| l.strip_prefix(prefix.as_str()).unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Ordering::Less => value.replace('\n', &format!("\n{}", " ".repeat(to - own))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vars_multis_and_holes() {
        let t = Template::parse("foo($$$ARGS, $A) -> $?RET $ 1");
        assert_eq!(t.vars().collect::<Vec<_>>(), vec!["ARGS", "A"]);
        assert_eq!(t.holes().collect::<Vec<_>>(), vec!["RET"]);
        assert!(matches!(&t.segments[t.segments.len() - 1], Segment::Text(s) if s == " $ 1"));
    }

    #[test]
    fn indent_at_counts_leading_spaces_only() {
        assert_eq!(indent_at("    foo(", 8), 4);
        assert_eq!(indent_at("x\n  a = ", 8), 2);
        assert_eq!(indent_at("\tfoo", 4), 0);
        assert_eq!(indent_at("abc", 3), 0);
    }

    #[test]
    fn var_indent_spans_segments() {
        let t = Template::parse("log(\n    $A)");
        assert!(t
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Var { name, indent: 4 } if name == "A")));
    }
}
