//! Python's top-level items, found by a line scanner that follows strings
//! (every prefix and quote style, f-string fields nested in them), brackets,
//! comments and `\` continuations, without parsing.
//!
//! Every logical line (outside any string or bracket, not after a `\`
//! continuation, and not blank or a comment) is noted with its
//! indentation; items are built from those lines. A new item starts at a
//! line at column 0 that is neither a clause continuing a compound
//! statement (`else`, `elif`, `except`, `finally`) nor the definition
//! under a decorator line. Blank and comment lines stay with the item
//! before them. A class or function (decorated or not, `async` or not) is
//! cut further into its header and its members (the statements of its
//! body) by the same rule one indentation level down: the first body line
//! fixes the level, and a body line indented otherwise keeps that class or
//! function whole. Anything the scanner cannot follow (an unclosed string
//! or bracket, a closing bracket with none open) gives `None`: the file is
//! parsed whole.

use super::{Item, Items, Kind, Start};
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

/// Bytes that change the scanner's state in code: everything else is
/// skipped in one run.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let bytes = b"\n#\\\"'()[]{}:";
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

/// Clauses that continue the compound statement above them.
const CONTINUATIONS: [&[u8]; 4] = [b"else", b"elif", b"except", b"finally"];

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A logical line that holds code: where it starts and where its code
/// starts (the bytes between are its indentation).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: Start,
    code: usize,
}

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut lines: Vec<Line> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // Bracket depth of code outside strings.
    let mut depth: u32 = 0;
    let mut row = 0;
    let mut line_start = 0;
    let mut at_line_start = true;
    // The line before ended in a `\` continuation.
    let mut continued = false;
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
                if !matches!(first, b'\n' | b'\r' | b'#') {
                    lines.push(Line {
                        start: Start { byte: i, row },
                        code,
                    });
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
                    _ => {
                        // Ordinary code: on to the next byte that matters.
                        i += 1 + text[i + 1..]
                            .iter()
                            .position(|&c| SPECIAL[c as usize])
                            .unwrap_or(n - i - 1);
                        continue;
                    }
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
                _ => {
                    // String text: on to the next quote, escape, line end
                    // (or field, in a formatted string).
                    let rest = &text[i + 1..];
                    let next = if fmt {
                        rest.iter()
                            .position(|&c| c == quote || matches!(c, b'\\' | b'\n' | b'{'))
                    } else {
                        memchr::memchr3(quote, b'\\', b'\n', rest)
                    };
                    i += 1 + next.unwrap_or(rest.len());
                }
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
    let mut items = level(text, &lines, b"").unwrap_or_default();
    match items.first_mut() {
        // The first item starts at the file's start (comments and blank
        // lines before the first code stay with it).
        Some(first) => first.start = Start { byte: 0, row: 0 },
        None => items.push(Item::leaf(Start { byte: 0, row: 0 })),
    }
    Some(Items {
        items,
        end: Point::new(row, n - line_start),
    })
}

/// Whether `text` at `at` starts with the word `word`.
fn word_at(text: &[u8], at: usize, word: &[u8]) -> bool {
    text[at..].starts_with(word) && !text.get(at + word.len()).copied().is_some_and(ident_byte)
}

/// The items of `lines`, all indented by at least `indent`: one starts at
/// each line indented by exactly `indent`, unless it is a clause or the
/// definition under a decorator. `None` when a line is indented otherwise
/// (the caller keeps its block whole).
fn level(text: &[u8], lines: &[Line], indent: &[u8]) -> Option<Vec<Item>> {
    // Where each item's lines begin.
    let mut firsts: Vec<usize> = Vec::new();
    let mut after_decorator = false;
    for (k, line) in lines.iter().enumerate() {
        let own = &text[line.start.byte..line.code];
        if own.len() > indent.len() && own.starts_with(indent) {
            continue;
        }
        if own != indent || own.contains(&b'\x0c') {
            return None;
        }
        let clause = CONTINUATIONS.iter().any(|kw| word_at(text, line.code, kw));
        if !clause && !after_decorator {
            firsts.push(k);
        }
        after_decorator = text[line.code] == b'@';
    }
    if firsts.first() != Some(&0) {
        return None;
    }
    let items = firsts
        .iter()
        .enumerate()
        .map(|(j, &k)| {
            let end = firsts.get(j + 1).copied().unwrap_or(lines.len());
            item(text, &lines[k..end], indent.len())
        })
        .collect();
    Some(items)
}

/// One item from its lines (the first at the item's level, `width` bytes
/// of indentation): a class or function with an indented body gets its
/// members.
fn item(text: &[u8], lines: &[Line], width: usize) -> Item {
    let mut it = Item::leaf(lines[0].start);
    // The definition under any decorator lines.
    let Some(head) = lines
        .iter()
        .position(|l| l.code - l.start.byte == width && text[l.code] != b'@')
    else {
        return it;
    };
    let at = lines[head].code;
    let async_def = word_at(text, at, b"async") && {
        let after = at
            + 5
            + text[at + 5..]
                .iter()
                .take_while(|&&b| matches!(b, b' ' | b'\t'))
                .count();
        word_at(text, after, b"def")
    };
    let kind = if word_at(text, at, b"class") {
        Kind::Block
    } else if word_at(text, at, b"def") || async_def {
        Kind::Function { keep_last: false }
    } else {
        return it;
    };
    let body = &lines[head + 1..];
    let Some(first) = body.first() else {
        return it;
    };
    let indent = &text[first.start.byte..first.code];
    if indent.len() <= width {
        return it;
    }
    if let Some(members) = level(text, body, indent) {
        it.kind = kind;
        it.members = members;
    }
    it
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
        // Nor is a class indented inconsistently.
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

    /// The parts of the first item's first member.
    fn first_member_parts(text: &str) -> Vec<&str> {
        let items = items(text.as_bytes()).expect("followed");
        let item = &items.items[0];
        let end = items.items.get(1).map_or(text.len(), |n| n.start.byte);
        let member = &item.members[0];
        let mut cuts = vec![member.start.byte];
        cuts.extend(member.members.iter().map(|m| m.start.byte));
        cuts.push(item.members.get(1).map_or(end, |m| m.start.byte));
        cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
    }

    #[test]
    fn functions_are_cut_into_the_statements_of_their_body() {
        let text = "@cache\nasync  def f(a,\n        b):\n    \"\"\"Doc.\"\"\"\n    # note\n    if a:\n        return 1\n    elif b:\n        return 2\n    x = \\\n  3\n\n    @wraps(g)\n    def inner():\n        pass\n    return x\ny = 1\n";
        assert_eq!(
            members(text),
            [
                "@cache\nasync  def f(a,\n        b):\n",
                "    \"\"\"Doc.\"\"\"\n    # note\n",
                "    if a:\n        return 1\n    elif b:\n        return 2\n",
                "    x = \\\n  3\n\n",
                "    @wraps(g)\n    def inner():\n        pass\n",
                "    return x\n",
            ]
        );
        let items = items(text.as_bytes()).unwrap();
        assert_eq!(items.items[0].kind, Kind::Function { keep_last: false });
        // The nested function is cut as well.
        assert_eq!(items.items[0].members[3].members.len(), 1);
        // A method's body, one level further down.
        let text = "class C:\n    def m(self):\n        a = 1\n        return a\n\n    z = 2\n";
        assert_eq!(
            first_member_parts(text),
            [
                "    def m(self):\n",
                "        a = 1\n",
                "        return a\n\n"
            ]
        );
        // A one-line function, a body indented inconsistently, and other
        // compound statements are not cut.
        assert_eq!(
            cut("def f(): return 1\nx = 1\n"),
            ["def f(): return 1\n", "x = 1\n"]
        );
        assert_eq!(
            members("def f():\n    a\n  b\n"),
            ["def f():\n    a\n  b\n"]
        );
        assert_eq!(
            members("for x in y:\n    a\n    b\n"),
            ["for x in y:\n    a\n    b\n"]
        );
        assert_eq!(members("define = 1\n    \n"), ["define = 1\n    \n"]);
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
