//! Rust's items, found by a scanner that follows strings (raw ones too),
//! char literals (told apart from lifetimes), line and nested block
//! comments and brackets, without parsing.
//!
//! A new item starts at a line that begins at column 0, outside any string,
//! comment or bracket, right after an item ended (the last code at the top
//! level was `;` or a closing `}`); so attributes and `where` clauses stay
//! with their item, and comment lines with the item above. An `impl`,
//! `trait` or `mod` block is cut further into its header, its members (by
//! the same rule one bracket level down, at the first member's
//! indentation) and its closing `}` line, and so is a function's body (top
//! level or a member) into its statements: there a line only starts a
//! statement if it starts with a word (not `else` or `as`), an attribute or
//! a label, so `.method()` after a struct literal stays with its statement.
//! A body whose closing `}` shares its line, or whose lines do not line up,
//! is not cut. Anything the scanner cannot follow (unclosed strings,
//! comments or brackets, a stray closing bracket) gives `None`: the file is
//! parsed whole.

use super::frames::{self, Frame, Stack};
use super::{Items, Kind, Start};
use tree_sitter::Point;

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// What the item or member whose first code line starts at `at` is, as far
/// as cutting goes: an `impl`, `trait` or `mod` block (cut into members) or
/// a function (its body cut into statements), after visibility and
/// qualifiers; `None` for anything else.
fn item_kind(text: &[u8], at: usize) -> Option<Kind> {
    let mut i = at;
    loop {
        let word_end = i + text[i..].iter().take_while(|&&b| ident_byte(b)).count();
        let word = &text[i..word_end];
        match word {
            b"impl" | b"trait" | b"mod" => return Some(Kind::Block),
            b"fn" => return Some(Kind::Function { keep_last: true }),
            b"pub" | b"unsafe" | b"default" | b"auto" | b"const" | b"async" | b"extern" => {
                i = word_end;
                // `pub(crate)` and the like.
                if word == b"pub" && text.get(i) == Some(&b'(') {
                    i += text[i..]
                        .iter()
                        .position(|&b| b == b')')
                        .map_or(0, |k| k + 1);
                }
                i += text[i..].iter().take_while(|&&b| b == b' ').count();
                // `extern "C" fn`.
                if word == b"extern" && text.get(i) == Some(&b'"') {
                    let close = text[i + 1..].iter().position(|&b| b == b'"')?;
                    i += close + 2;
                    i += text[i..].iter().take_while(|&&b| b == b' ').count();
                }
                if i == word_end && word != b"pub" {
                    return None;
                }
            }
            _ => return None,
        }
        if i >= text.len() {
            return None;
        }
    }
}

/// Whether a line whose code starts with `first` (at `at`) may start a
/// statement of a function body. A line that goes on with the statement
/// above at the same indentation (`.method()` after a struct literal,
/// `else` after a block, an operator) starts with something else; such a
/// line is kept with the statement above, so a statement is never cut in
/// two.
fn starts_statement(text: &[u8], at: usize, first: u8) -> bool {
    let word = |w: &[u8]| {
        text[at..].starts_with(w) && !text.get(at + w.len()).copied().is_some_and(ident_byte)
    };
    (first.is_ascii_alphabetic() || matches!(first, b'_' | b'#' | b'\''))
        && !word(b"else")
        && !word(b"as")
}

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut stack = Stack::new(Kind::Block);
    let mut depth: u32 = 0;
    let mut row = 0;
    let mut line_start = 0;
    // Where the current line's code starts.
    let mut line_code = 0;
    let mut at_line_start = true;
    let mut i = 0;
    while i < n {
        if at_line_start {
            at_line_start = false;
            let (code, first, blank) = frames::line_code(text, i);
            line_code = code;
            let frame = stack.current();
            if !blank && depth == frame.depth && first != b'}' {
                line_starts_member(text, frame, Start { byte: i, row }, code, first);
            }
        }
        let b = text[i];
        match b {
            b'\n' => {
                row += 1;
                i += 1;
                line_start = i;
                at_line_start = true;
                continue;
            }
            b'/' if text.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &text[i..]).map_or(n, |k| i + k);
                continue;
            }
            b'/' if text.get(i + 1) == Some(&b'*') => {
                // Block comments nest.
                let mut level = 1;
                i += 2;
                while level > 0 {
                    match (text.get(i)?, text.get(i + 1)) {
                        (b'/', Some(b'*')) => {
                            level += 1;
                            i += 2;
                        }
                        (b'*', Some(b'/')) => {
                            level -= 1;
                            i += 2;
                        }
                        (b'\n', _) => {
                            row += 1;
                            i += 1;
                            line_start = i;
                        }
                        _ => i += 1,
                    }
                }
                continue;
            }
            b'"' => {
                i = skip_string(text, i + 1, None, &mut row, &mut line_start)?;
            }
            b'r' if i == 0 || !ident_byte(text[i - 1]) || raw_prefix(text, i) => {
                let hashes = text[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if text.get(i + 1 + hashes) == Some(&b'"') {
                    i = skip_string(
                        text,
                        i + 2 + hashes,
                        Some(hashes),
                        &mut row,
                        &mut line_start,
                    )?;
                } else {
                    i += 1;
                    // An identifier that starts with `r`.
                    while i < n && ident_byte(text[i]) {
                        i += 1;
                    }
                    stack.current().settle(depth);
                    continue;
                }
            }
            b'\'' => {
                i = skip_char_or_lifetime(text, i);
            }
            b'(' | b'[' | b'{' => {
                stack.open(b, depth);
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                let tail = Start {
                    byte: line_start,
                    row,
                };
                stack.close(b, depth, b == b'}' && i == line_code, tail, |k| k);
                i += 1;
            }
            b';' => {
                stack.current().separator(depth, true);
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                stack.current().settle(depth);
                i += 1;
            }
        }
    }
    if depth != 0 {
        return None;
    }
    Some(Items {
        items: stack.finish(),
        end: Point::new(row, n - line_start),
    })
}

/// A line whose code (at `code`, starting with `first`) lies directly in
/// `frame`'s body: in a function body only a line that
/// [`starts_statement`] may start a member, elsewhere any but a closing
/// bracket; the first code line of a block member tells whether it opens
/// a body to cut.
fn line_starts_member(text: &[u8], frame: &mut Frame<Kind>, start: Start, code: usize, first: u8) {
    let statement = matches!(frame.kind, Kind::Function { .. });
    let may_start = if statement {
        starts_statement(text, code, first)
    } else {
        !matches!(first, b')' | b']')
    };
    frame.line(text, start, code, may_start);
    if frame.kind_unknown() && first != b'#' && !statement {
        frame.learn(item_kind(text, code));
    }
}

/// `br"..."` / `cr#"..."#`: an `r` right after a one-letter string prefix.
fn raw_prefix(text: &[u8], at: usize) -> bool {
    at >= 1 && matches!(text[at - 1], b'b' | b'c') && (at < 2 || !ident_byte(text[at - 2]))
}

/// Skips a string body from `from` to just past its closing quote: a plain
/// string's (`raw` is `None`: escapes count), or a raw one's followed by
/// its `raw` `#`s (no escapes: `r"\"` is one backslash).
fn skip_string(
    text: &[u8],
    from: usize,
    raw: Option<usize>,
    row: &mut usize,
    line_start: &mut usize,
) -> Option<usize> {
    let hashes = raw.unwrap_or(0);
    let mut i = from;
    loop {
        match *text.get(i)? {
            b'\\' if raw.is_none() => {
                if text.get(i + 1) == Some(&b'\n') {
                    *row += 1;
                    *line_start = i + 2;
                }
                i += 2;
            }
            b'\n' => {
                *row += 1;
                i += 1;
                *line_start = i;
            }
            b'"' if text[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == b'#')
                .count()
                == hashes =>
            {
                return Some(i + 1 + hashes);
            }
            _ => i += 1,
        }
    }
}

/// Skips `'x'`, `'\n'`, `'\u{1F600}'` (char literals) or just the quote of
/// a lifetime or label (`'a`, `'static`).
fn skip_char_or_lifetime(text: &[u8], at: usize) -> usize {
    match text.get(at + 1) {
        Some(b'\\') => {
            // An escape: the literal closes at the next quote after it.
            let body = at + 3;
            text.get(body..)
                .and_then(|rest| rest.iter().take(10).position(|&c| c == b'\''))
                .map_or(at + 1, |k| body + k + 1)
        }
        Some(&lead) => {
            let len = match lead {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if lead != b'\'' && text.get(at + 1 + len) == Some(&b'\'') {
                at + 2 + len
            } else {
                at + 1
            }
        }
        None => at + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").texts(text)
    }

    /// The first item's header, members (and closing line).
    fn parts(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").first_parts(text)
    }

    #[test]
    fn items_start_after_an_item_ends() {
        assert_eq!(
            cut("use a::b;\n// note\n#[derive(Debug)]\nstruct S {\n    x: u8,\n}\n\nfn f<T>()\nwhere\n    T: X,\n{\n}\nstatic A: [u8; 2] = [\n1, 2\n];\n"),
            [
                "use a::b;\n// note\n",
                "#[derive(Debug)]\nstruct S {\n    x: u8,\n}\n\n",
                "fn f<T>()\nwhere\n    T: X,\n{\n}\n",
                "static A: [u8; 2] = [\n1, 2\n];\n"
            ]
        );
    }

    #[test]
    fn strings_chars_and_comments_hide_their_lines() {
        let text = "const S: &str = \"a\n}\nfn x() {}\";\nconst R: &str = r#\"\"\n}\n\"#;\nfn f<'a>(x: &'a str) -> char { '}' }\n/* outer /* inner\n}\n*/ */\nfn g() { let c = '\\''; }\n";
        assert_eq!(
            cut(text),
            [
                "const S: &str = \"a\n}\nfn x() {}\";\n",
                "const R: &str = r#\"\"\n}\n\"#;\n",
                "fn f<'a>(x: &'a str) -> char { '}' }\n/* outer /* inner\n}\n*/ */\n",
                "fn g() { let c = '\\''; }\n"
            ]
        );
        let items = items(text.as_bytes()).unwrap();
        assert_eq!(items.items[1].start.row, 3);
        // A raw string has no escapes: `r"\"` is one backslash.
        assert_eq!(
            cut("const B: &str = r\"\\\";\nfn f() { g(\"}\") }\n"),
            ["const B: &str = r\"\\\";\n", "fn f() { g(\"}\") }\n"]
        );
        assert_eq!(items.items[3].start.row, 10);
    }

    #[test]
    fn impl_trait_and_mod_blocks_are_cut_into_members() {
        let text = "#[cfg(test)]\npub(crate) mod tests {\n    use super::*;\n\n    #[test]\n    fn a() {\n        x();\n    }\n    // trailing\n    fn b()\n    where\n        T: X,\n    {\n    }\n}\n\nfn after() {}\n";
        assert_eq!(
            parts(text),
            [
                "#[cfg(test)]\npub(crate) mod tests {\n",
                "    use super::*;\n\n",
                "    #[test]\n    fn a() {\n        x();\n    }\n    // trailing\n",
                "    fn b()\n    where\n        T: X,\n    {\n    }\n",
                "}\n\n",
            ]
        );
        // A block whose `}` shares its line is not cut.
        assert_eq!(parts("impl S {\n    fn a() {}\n    fn b() {} }\n").len(), 1);
        assert_eq!(parts("impl S {\n    fn a() {}\n  fn b() {}\n}\n").len(), 1);
    }

    #[test]
    fn function_bodies_are_cut_into_statements() {
        let text = "pub(crate) async fn f(x: u8) -> u8 {\n    let s = S {\n        a: 1,\n    }\n    .build();\n    #[cfg(x)]\n    g();\n    if a {\n        b();\n    }\n    else {\n    }\n    // note\n    'outer: loop {}\n    *p = 1;\n    x\n        + 1\n}\n";
        let cut = items(text.as_bytes()).expect("followed");
        assert_eq!(cut.items[0].kind, Kind::Function { keep_last: true });
        assert_eq!(
            parts(text),
            [
                "pub(crate) async fn f(x: u8) -> u8 {\n",
                "    let s = S {\n        a: 1,\n    }\n    .build();\n",
                "    #[cfg(x)]\n    g();\n",
                "    if a {\n        b();\n    }\n    else {\n    }\n    // note\n",
                "    'outer: loop {}\n    *p = 1;\n",
                "    x\n        + 1\n",
                "}\n",
            ]
        );
        // Methods of an impl block, and functions in a nested module.
        let text = "impl S {\n    fn a(&self) {\n        one();\n        two();\n    }\n\n    const fn b() {}\n}\nmod m {\n    mod n {\n        extern \"C\" fn c() {\n            three();\n        }\n    }\n}\n";
        let cut = items(text.as_bytes()).expect("followed");
        let (s, m) = (&cut.items[0], &cut.items[1]);
        assert_eq!(s.members.len(), 2);
        assert_eq!(
            s.members[0].parts(s.members[1].start.byte, text),
            [
                "    fn a(&self) {\n",
                "        one();\n",
                "        two();\n",
                "    }\n\n"
            ]
        );
        assert!(s.members[1].members.is_empty());
        let c = &m.members[0].members[0];
        assert_eq!(c.kind, Kind::Function { keep_last: true });
        assert_eq!(c.members.len(), 1);
        // Not cut: a one-line body, a body whose `}` shares its line, a
        // second brace body in one item (a const generic argument), and
        // lines that do not line up.
        for text in [
            "fn f() { a(); }\n",
            "fn f() {\n    a();\n    b(); }\n",
            "fn f() -> A<{ N }> {\n    a();\n}\n",
            "fn f() {\n    a();\n  b();\n}\n",
        ] {
            assert_eq!(parts(text).len(), 1, "{text}");
        }
    }

    #[test]
    fn what_it_cannot_follow_is_parsed_whole() {
        assert!(items(b"fn f() {\n").is_none());
        assert!(items(b"fn f() {}\n}\n").is_none());
        assert!(items(b"const S: &str = \"open;\n").is_none());
        assert!(items(b"/* open\nfn f() {}\n").is_none());
    }
}
