//! Rust's top-level items, found by a scanner that follows strings (raw
//! ones too), char literals (told apart from lifetimes), line and nested
//! block comments and brackets, without parsing.
//!
//! A new item starts at a line that begins at column 0, outside any string,
//! comment or bracket, right after an item ended (the last code at the top
//! level was `;` or a closing `}`); so attributes and `where` clauses stay
//! with their item, and comment lines with the item above. An `impl`,
//! `trait` or `mod` block is cut further into its header, its members (by
//! the same rule one bracket level down, at the first member's
//! indentation) and its closing `}` line. Anything the scanner cannot
//! follow (unclosed strings, comments or brackets, a stray closing bracket)
//! gives `None`: the file is parsed whole.

use super::{Item, Items, Start};
use tree_sitter::Point;

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the line at `at` opens a block that is cut into members:
/// `impl`, `trait` or `mod` after visibility and qualifiers.
fn opens_block(text: &[u8], at: usize) -> bool {
    let mut i = at;
    loop {
        let word_end = i + text[i..].iter().take_while(|&&b| ident_byte(b)).count();
        let word = &text[i..word_end];
        match word {
            b"impl" | b"trait" | b"mod" => return true,
            b"pub" | b"unsafe" | b"default" | b"auto" => {
                i = word_end;
                // `pub(crate)` and the like.
                if word == b"pub" && text.get(i) == Some(&b'(') {
                    i += text[i..]
                        .iter()
                        .position(|&b| b == b')')
                        .map_or(0, |k| k + 1);
                }
                i += text[i..].iter().take_while(|&&b| b == b' ').count();
                if i == word_end && word != b"pub" {
                    return false;
                }
            }
            _ => return false,
        }
        if i >= text.len() {
            return false;
        }
    }
}

/// The block being cut into members, if the current item is one.
#[derive(Debug, Clone, Copy)]
struct Block {
    /// Leading whitespace of the first member (a byte range), once seen.
    indent: Option<(usize, usize)>,
    /// The last code at member level ended a member (or opened the block).
    boundary: bool,
}

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut items = vec![Item::leaf(Start { byte: 0, row: 0 })];
    let mut depth: u32 = 0;
    let mut row = 0;
    let mut line_start = 0;
    let mut at_line_start = true;
    // The last top-level code ended an item (true at the file's start).
    let mut boundary = true;
    // The current item's first code line has been looked at.
    let mut kind_known = false;
    let mut block: Option<Block> = None;
    // The current item's block may still be cut (no odd layout seen).
    let mut splittable = false;
    let mut i = 0;
    while i < n {
        if at_line_start {
            at_line_start = false;
            let code = i + text[i..]
                .iter()
                .take_while(|&&b| matches!(b, b' ' | b'\t'))
                .count();
            let first = text.get(code).copied().unwrap_or(b'\n');
            let blank = matches!(first, b'\n' | b'\r')
                || text[code..].starts_with(b"//")
                || text[code..].starts_with(b"/*");
            let start = Start { byte: i, row };
            if !blank && depth == 0 && code == i {
                if boundary && i > 0 && !matches!(first, b'}' | b')' | b']') {
                    items.push(Item::leaf(start));
                    kind_known = false;
                    block = None;
                }
                if !kind_known && first != b'#' {
                    kind_known = true;
                    splittable = opens_block(text, i);
                }
            } else if !blank && depth == 1 && splittable {
                if let Some(b) = block.as_mut() {
                    let item = items.last_mut().expect("an item");
                    let indent = &text[i..code];
                    match b.indent {
                        _ if first == b'}' => {}
                        None if b.boundary => {
                            b.indent = Some((i, code));
                            item.members.push(Item::leaf(start));
                        }
                        Some((s, e)) if indent == &text[s..e] => {
                            if b.boundary {
                                item.members.push(Item::leaf(start));
                            }
                        }
                        Some((s, e)) if indent.len() > e - s && indent.starts_with(&text[s..e]) => {
                        }
                        _ => {
                            item.members.clear();
                            splittable = false;
                        }
                    }
                }
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
                i = skip_string(text, i + 1, 0, &mut row, &mut line_start)?;
            }
            b'r' if i == 0 || !ident_byte(text[i - 1]) || raw_prefix(text, i) => {
                let hashes = text[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if text.get(i + 1 + hashes) == Some(&b'"') {
                    i = skip_string(text, i + 2 + hashes, hashes, &mut row, &mut line_start)?;
                } else {
                    i += 1;
                    // An identifier that starts with `r`.
                    while i < n && ident_byte(text[i]) {
                        i += 1;
                    }
                    settle(&mut boundary, &mut block, depth);
                    continue;
                }
            }
            b'\'' => {
                i = skip_char_or_lifetime(text, i);
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if b == b'{' && depth == 1 && splittable {
                    if block.is_none() {
                        block = Some(Block {
                            indent: None,
                            boundary: true,
                        });
                    } else {
                        // A second top-level body in one item: keep whole.
                        items.last_mut().expect("an item").members.clear();
                        splittable = false;
                    }
                } else {
                    settle(&mut boundary, &mut block, depth - 1);
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                match depth {
                    0 => {
                        boundary = b == b'}';
                        if b == b'}' && splittable && block.is_some() {
                            // The block's closing line: `}` at column 0.
                            let item = items.last_mut().expect("an item");
                            if i == line_start && !item.members.is_empty() {
                                item.tail = Some(Start {
                                    byte: line_start,
                                    row,
                                });
                            } else {
                                item.members.clear();
                            }
                            splittable = false;
                        }
                    }
                    1 => {
                        if let Some(bl) = block.as_mut() {
                            bl.boundary = b == b'}';
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            b';' => {
                if depth == 0 {
                    boundary = true;
                } else if depth == 1 {
                    if let Some(bl) = block.as_mut() {
                        bl.boundary = true;
                    }
                }
                i += 1;
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                settle(&mut boundary, &mut block, depth);
                i += 1;
            }
        }
    }
    if depth != 0 {
        return None;
    }
    // A block still open at the end, or one whose `}` was not alone on its
    // line, is not cut.
    for item in &mut items {
        if item.tail.is_none() {
            item.members.clear();
        }
    }
    Some(Items {
        items,
        end: Point::new(row, n - line_start),
    })
}

/// Other code at `depth` means the item (or member) there goes on.
fn settle(boundary: &mut bool, block: &mut Option<Block>, depth: u32) {
    match depth {
        0 => *boundary = false,
        1 => {
            if let Some(b) = block.as_mut() {
                b.boundary = false;
            }
        }
        _ => {}
    }
}

/// `br"..."` / `cr#"..."#`: an `r` right after a one-letter string prefix.
fn raw_prefix(text: &[u8], at: usize) -> bool {
    at >= 1 && matches!(text[at - 1], b'b' | b'c') && (at < 2 || !ident_byte(text[at - 2]))
}

/// Skips a string body from `from` to just past its closing quote (followed
/// by `hashes` `#`s for a raw string; escapes only count in plain ones).
fn skip_string(
    text: &[u8],
    from: usize,
    hashes: usize,
    row: &mut usize,
    line_start: &mut usize,
) -> Option<usize> {
    let mut i = from;
    loop {
        match *text.get(i)? {
            b'\\' if hashes == 0 => {
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
        // Functions are not cut, nor a block whose `}` shares its line.
        assert_eq!(parts("fn f() {\n    a();\n    b();\n}\n").len(), 1);
        assert_eq!(parts("impl S {\n    fn a() {}\n    fn b() {} }\n").len(), 1);
        assert_eq!(parts("impl S {\n    fn a() {}\n  fn b() {}\n}\n").len(), 1);
    }

    #[test]
    fn what_it_cannot_follow_is_parsed_whole() {
        assert!(items(b"fn f() {\n").is_none());
        assert!(items(b"fn f() {}\n}\n").is_none());
        assert!(items(b"const S: &str = \"open;\n").is_none());
        assert!(items(b"/* open\nfn f() {}\n").is_none());
    }
}
