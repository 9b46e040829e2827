//! Python's top-level items, found by a line scanner that follows strings
//! (every prefix and quote style, f-string fields nested in them), brackets,
//! comments and `\` continuations, without parsing.
//!
//! A new item starts at a line that begins at column 0 with a letter, `_`
//! or `@`, outside any string or bracket, not after a `\` continuation,
//! and that is neither a clause continuing a compound statement (`else`,
//! `elif`, `except`, `finally`) nor the definition under a decorator line.
//! Blank and comment lines stay with the item before them. A top-level
//! class (decorated or not) is cut further into its header and its
//! members, by the same rule one indentation level down (the first member
//! line fixes the level; a line indented otherwise keeps the class whole).
//! Anything the
//! scanner cannot follow (an unclosed string or bracket, a closing bracket
//! with none open) gives `None`: the file is parsed whole.

use super::{Item, Items, Start};
use tree_sitter::Point;

/// What the scanner is inside, innermost last; an empty stack is top-level
/// code.
#[derive(Debug, Clone, Copy)]
enum Frame {
    Str {
        quote: u8,
        triple: bool,
        fmt: bool,
    },
    /// A replacement field `{...}` of an f-string, with its bracket depth.
    Field {
        depth: u32,
    },
    /// A field's format spec (after `:`), which may hold nested fields.
    Spec,
}

/// Clauses that continue the compound statement above them.
const CONTINUATIONS: [&[u8]; 4] = [b"else", b"elif", b"except", b"finally"];

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where the scanner is in the current top-level item, for splitting a
/// class into its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassState {
    /// Decorator lines so far: a class may follow.
    Decorated,
    /// A class whose body indentation (the leading whitespace of its first
    /// member, as a byte range) is known once a member line is seen.
    Class { body: Option<(usize, usize)> },
    /// Not a class, or a class whose body the scanner does not follow.
    Other,
}

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut items = vec![Item {
        start: Start { byte: 0, row: 0 },
        members: Vec::new(),
        tail: None,
    }];
    let mut stack: Vec<Frame> = Vec::new();
    // Bracket depth of top-level code.
    let mut depth: u32 = 0;
    let mut row = 0;
    let mut line_start = 0;
    let mut at_line_start = true;
    // The line before ended in a `\` continuation.
    let mut continued = false;
    // A decorator line began the current item (or member): the definition
    // under it is still pending.
    let mut after_decorator = false;
    let mut member_after_decorator = false;
    let mut class = ClassState::Decorated;
    let mut i = 0;
    while i < n {
        if at_line_start {
            at_line_start = false;
            if stack.is_empty() && depth == 0 && !continued {
                let code = i + text[i..]
                    .iter()
                    .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\x0c'))
                    .count();
                let first = text.get(code).copied().unwrap_or(b'\n');
                let blank = matches!(first, b'\n' | b'\r' | b'#');
                let clause = CONTINUATIONS.iter().any(|kw| {
                    text[code..].starts_with(kw)
                        && !text.get(code + kw.len()).copied().is_some_and(ident_byte)
                });
                let start = Start { byte: i, row };
                if blank {
                    // Comments and blank lines stay with what is above.
                } else if code == i {
                    if !clause && !after_decorator && i > 0 {
                        items.push(Item {
                            start,
                            members: Vec::new(),
                            tail: None,
                        });
                        class = ClassState::Decorated;
                    }
                    after_decorator = first == b'@';
                    class = match class {
                        ClassState::Decorated if first == b'@' => ClassState::Decorated,
                        ClassState::Decorated
                            if text[i..].starts_with(b"class")
                                && !text.get(i + 5).copied().is_some_and(ident_byte) =>
                        {
                            ClassState::Class { body: None }
                        }
                        _ => ClassState::Other,
                    };
                } else if let ClassState::Class { body } = class {
                    let item = items.last_mut().expect("an item");
                    let indent = &text[i..code];
                    match body {
                        None => {
                            class = ClassState::Class {
                                body: Some((i, code)),
                            };
                            item.members.push(start);
                            member_after_decorator = first == b'@';
                        }
                        Some((s, e)) if indent == &text[s..e] => {
                            if !clause && !member_after_decorator {
                                item.members.push(start);
                            }
                            member_after_decorator = first == b'@';
                        }
                        Some((s, e)) if indent.len() > e - s && indent.starts_with(&text[s..e]) => {
                        }
                        Some(_) => {
                            // Indentation the scanner does not follow:
                            // keep the class whole.
                            item.members.clear();
                            class = ClassState::Other;
                        }
                    }
                }
            }
            continued = false;
        }
        let b = text[i];
        if b == b'\n' {
            if matches!(stack.last(), Some(Frame::Str { triple: false, .. })) {
                return None; // unterminated string
            }
            row += 1;
            i += 1;
            line_start = i;
            at_line_start = true;
            continue;
        }
        match stack.last().copied() {
            None | Some(Frame::Field { .. }) => {
                let in_field = !stack.is_empty();
                match b {
                    b'#' => {
                        // A comment runs to the end of the line.
                        i = memchr::memchr(b'\n', &text[i..]).map_or(n, |k| i + k);
                        continue;
                    }
                    b'\\' => {
                        let nl = match (text.get(i + 1), text.get(i + 2)) {
                            (Some(b'\n'), _) => 1,
                            (Some(b'\r'), Some(b'\n')) => 2,
                            _ => 0,
                        };
                        if nl > 0 {
                            i += nl + 1;
                            row += 1;
                            line_start = i;
                            at_line_start = true;
                            continued = true;
                            continue;
                        }
                    }
                    b'"' | b'\'' => {
                        let fmt = string_prefix(text, i)?;
                        let triple = text.get(i + 1) == Some(&b) && text.get(i + 2) == Some(&b);
                        stack.push(Frame::Str {
                            quote: b,
                            triple,
                            fmt,
                        });
                        i += if triple { 3 } else { 1 };
                        continue;
                    }
                    b'(' | b'[' | b'{' => {
                        if let Some(Frame::Field { depth }) = stack.last_mut() {
                            *depth += 1;
                        } else {
                            depth += 1;
                        }
                    }
                    b')' | b']' | b'}' => match stack.last_mut() {
                        Some(Frame::Field { depth: 0 }) if b == b'}' => {
                            stack.pop();
                        }
                        Some(Frame::Field { depth: d }) if *d > 0 => *d -= 1,
                        None if depth > 0 => depth -= 1,
                        _ => return None,
                    },
                    b':' if in_field => {
                        // At depth 0 a `:` starts the format spec (a
                        // walrus must be in brackets there).
                        if let Some(top @ Frame::Field { depth: 0 }) = stack.last_mut() {
                            *top = Frame::Spec;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Some(Frame::Str { quote, triple, fmt }) => match b {
                b'\\' => {
                    // An escape (or a `\` line continuation) skips a byte;
                    // a skipped newline still counts as a line.
                    let skip = match (text.get(i + 1), text.get(i + 2)) {
                        (Some(b'\r'), Some(b'\n')) => 2,
                        _ => 1,
                    };
                    if text.get(i + skip) == Some(&b'\n') {
                        row += 1;
                        line_start = i + skip + 1;
                    }
                    i += skip + 1;
                }
                b'{' if fmt => {
                    if text.get(i + 1) == Some(&b'{') {
                        i += 2;
                    } else {
                        stack.push(Frame::Field { depth: 0 });
                        i += 1;
                    }
                }
                q if q == quote => {
                    if !triple {
                        stack.pop();
                        i += 1;
                    } else if text.get(i + 1) == Some(&q) && text.get(i + 2) == Some(&q) {
                        stack.pop();
                        i += 3;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            },
            Some(Frame::Spec) => {
                match b {
                    b'{' => stack.push(Frame::Field { depth: 0 }),
                    b'}' => {
                        stack.pop();
                    }
                    _ => {}
                }
                i += 1;
            }
        }
    }
    if !stack.is_empty() || depth != 0 {
        return None;
    }
    Some(Items {
        items,
        end: Point::new(row, n - line_start),
    })
}

/// For the quote at `at`: whether its string is formatted (`f`/`t` in the
/// prefix). `None` when letters right before it are not a string prefix
/// but end a name (`x"..."` is a syntax error we do not follow).
fn string_prefix(text: &[u8], at: usize) -> Option<bool> {
    let mut start = at;
    while start > 0 && ident_byte(text[start - 1]) {
        start -= 1;
    }
    let prefix = &text[start..at];
    if prefix.len() > 2
        || !prefix
            .iter()
            .all(|c| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'))
    {
        return None;
    }
    Some(
        prefix
            .iter()
            .any(|c| matches!(c.to_ascii_lowercase(), b'f' | b't')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").texts(text)
    }

    /// The first item's header, members (and closing line).
    fn members(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").first_parts(text)
    }

    #[test]
    fn items_start_at_top_level_lines() {
        assert_eq!(
            cut("import a\nx = 1\n\n# c\ndef f():\n    pass\n"),
            ["import a\n", "x = 1\n\n# c\n", "def f():\n    pass\n"]
        );
        // Clauses, decorators and continuations stay with their statement.
        assert_eq!(
            cut("if a:\n    b\nelse:\n    c\n@d\n\n@e(1)\nclass C:\n    pass\nx = 1 + \\\n2\ny = (\n3)\n"),
            [
                "if a:\n    b\nelse:\n    c\n",
                "@d\n\n@e(1)\nclass C:\n    pass\n",
                "x = 1 + \\\n2\n",
                "y = (\n3)\n"
            ]
        );
        // `elsewhere` is a name, not a clause.
        assert_eq!(cut("a\nelsewhere = 1\n"), ["a\n", "elsewhere = 1\n"]);
    }

    #[test]
    fn strings_hide_their_lines() {
        let text = "s = '''\ndef not_an_item():\n'''\nt = f\"{x:{w}}\" + rb'\\'' + \"a\\\nb\"\nu = f'{d[\"k\"]}'\nv = 1\n";
        assert_eq!(
            cut(text),
            [
                "s = '''\ndef not_an_item():\n'''\n",
                "t = f\"{x:{w}}\" + rb'\\'' + \"a\\\nb\"\n",
                "u = f'{d[\"k\"]}'\n",
                "v = 1\n"
            ]
        );
        let items = items(text.as_bytes()).unwrap();
        assert_eq!(items.items[1].start.row, 3);
        assert_eq!(items.items[3].start.row, 6);
        assert_eq!(items.end, Point::new(7, 0));
    }

    #[test]
    fn top_level_classes_are_cut_into_members() {
        let text = "@dataclass\nclass C(Base):\n    \"\"\"Doc.\"\"\"\n    x: int = 0\n\n    @property\n    def y(self):\n        if self.x:\n            return 1\n        else:\n            return 2\n    # trailing\n    try:\n        z = 1\n    except E:\n        z = 2\nv = 1\n";
        assert_eq!(
            members(text),
            [
                "@dataclass\nclass C(Base):\n",
                "    \"\"\"Doc.\"\"\"\n",
                "    x: int = 0\n\n",
                "    @property\n    def y(self):\n        if self.x:\n            return 1\n        else:\n            return 2\n    # trailing\n",
                "    try:\n        z = 1\n    except E:\n        z = 2\n",
            ]
        );
        // Functions are not cut; nor is a class indented inconsistently.
        assert_eq!(
            members("def f():\n    a\n    b\n"),
            ["def f():\n    a\n    b\n"]
        );
        assert_eq!(
            members("class C:\n    a = 1\n  b = 2\n"),
            ["class C:\n    a = 1\n  b = 2\n"]
        );
        // A one-line class has no members to cut.
        assert_eq!(
            cut("class C: pass\nx = 1\n"),
            ["class C: pass\n", "x = 1\n"]
        );
    }

    #[test]
    fn what_it_cannot_follow_is_parsed_whole() {
        assert!(items(b"x = 'open\ny = 1\n").is_none());
        assert!(items(b"x = (1,\n").is_none());
        assert!(items(b"x = 1)\n").is_none());
        assert!(items(b"x = '''never closed\n").is_none());
        assert!(items(b"print\"x\"\n").is_none());
    }
}
