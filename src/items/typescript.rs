//! TypeScript's top-level items, found by a scanner that follows strings,
//! template literals (with the code of their `${}` fields), comments and
//! brackets, without parsing.
//!
//! A new item starts at a line that begins at column 0 with a name or
//! keyword (or `@`), outside any string, comment or bracket, right after
//! an item ended (the last code at the top level was `;` or a closing
//! `}`), unless its first word continues the statement above (`else`,
//! `catch`, `finally`, `while` after `do`, or an operator word such as
//! `as`). So a line that goes on with an operator, a bracket or a dot is
//! never cut from the one above, whatever automatic semicolon insertion
//! would do; comment lines stay with the item above.
//!
//! An `interface`, `class` or `namespace` block (top-level or a member of
//! another, after `export`, `declare`, `default`, `abstract`) is cut
//! further into its header, its members and its closing `}` line, by the
//! same rule one bracket level down at the first member's indentation: a
//! member ends at a `;` or a `}` (in an interface also at a `,`), and the
//! next starts with a name, a keyword, a decorator, a private or quoted
//! name, or after a `;` or `,` an index signature. A block whose `}` shares
//! its line, whose members do not line up, or with a second brace body (the
//! first in its type parameters) is not cut; nor are `module`, `enum` and
//! `type` bodies or functions. Anything the scanner does not follow gives `None` and the file
//! is parsed whole: an unclosed string, template, comment or bracket, a
//! stray closing bracket, and any `/` that does not start a comment (a
//! division and a regular expression literal cannot be told apart without
//! parsing; declaration files, the big ones, have neither).

use super::{Item, Items, Start};
use tree_sitter::Point;

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Words that, first on a line, continue the statement above.
const CONTINUATIONS: [&[u8]; 11] = [
    b"else",
    b"catch",
    b"finally",
    b"while",
    b"as",
    b"satisfies",
    b"instanceof",
    b"in",
    b"of",
    b"extends",
    b"implements",
];

/// Where the scanner is: a position and the line it is on.
struct Cursor<'a> {
    text: &'a [u8],
    i: usize,
    row: usize,
    line_start: usize,
}

impl Cursor<'_> {
    fn newline(&mut self) {
        self.row += 1;
        self.i += 1;
        self.line_start = self.i;
    }

    /// Past a `'` or `"` string starting at the quote; `None` if it is not
    /// closed on its line.
    fn string(&mut self) -> Option<()> {
        let quote = self.text[self.i];
        self.i += 1;
        loop {
            match *self.text.get(self.i)? {
                b'\\' => {
                    // An escaped line break continues the string.
                    if self.text.get(self.i + 1) == Some(&b'\n') {
                        self.i += 1;
                        self.newline();
                    } else if self.text.get(self.i + 1) == Some(&b'\r')
                        && self.text.get(self.i + 2) == Some(&b'\n')
                    {
                        self.i += 2;
                        self.newline();
                    } else {
                        self.i += 2;
                    }
                }
                b'\n' => return None,
                c if c == quote => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }

    /// Past a template literal starting at its backtick, fields included.
    fn template(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            match *self.text.get(self.i)? {
                b'\\' => self.i += 2,
                b'\n' => self.newline(),
                b'`' => {
                    self.i += 1;
                    return Some(());
                }
                b'$' if self.text.get(self.i + 1) == Some(&b'{') => {
                    self.i += 2;
                    self.code_until_close()?;
                }
                _ => self.i += 1,
            }
        }
    }

    /// Past a comment starting at `/`, or `None` when the `/` starts none.
    fn comment(&mut self) -> Option<()> {
        match self.text.get(self.i + 1) {
            Some(b'/') => {
                self.i = memchr::memchr(b'\n', &self.text[self.i..])
                    .map_or(self.text.len(), |k| self.i + k);
                Some(())
            }
            Some(b'*') => {
                self.i += 2;
                loop {
                    match (*self.text.get(self.i)?, self.text.get(self.i + 1)) {
                        (b'*', Some(b'/')) => {
                            self.i += 2;
                            return Some(());
                        }
                        (b'\n', _) => self.newline(),
                        _ => self.i += 1,
                    }
                }
            }
            _ => None,
        }
    }

    /// The code of a template field: past the `}` that closes it.
    fn code_until_close(&mut self) -> Option<()> {
        let mut depth = 0u32;
        loop {
            match *self.text.get(self.i)? {
                b'\n' => self.newline(),
                b'\'' | b'"' => self.string()?,
                b'`' => self.template()?,
                b'/' => self.comment()?,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                b')' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b'}' => {
                    self.i += 1;
                    if depth == 0 {
                        return Some(());
                    }
                    depth -= 1;
                }
                _ => self.i += 1,
            }
        }
    }
}

/// Whether the item or member whose first code line starts at `at` is an
/// `interface`, `class` or `namespace` block (after `export`, `declare`,
/// `default` and `abstract`), cut into its members, and if so whether a
/// `,` ends a member there (an interface's). `None` for anything else:
/// `module` and `enum` blocks, functions, types and statements are kept
/// whole.
fn opens_block(text: &[u8], at: usize) -> Option<Commas> {
    let mut i = at;
    loop {
        let word_end = i + text[i..].iter().take_while(|&&b| ident_byte(b)).count();
        let word = &text[i..word_end];
        let next = word_end + text[word_end..].iter().take_while(|&&b| b == b' ').count();
        if next == word_end {
            return None;
        }
        let named = text
            .get(next)
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b'$');
        match word {
            b"export" | b"declare" | b"default" | b"abstract" => i = next,
            // `interface = 1` or `namespace.x` are no declarations.
            b"interface" => return named.then_some(Commas(true)),
            b"namespace" => return named.then_some(Commas(false)),
            b"class" => {
                return (named || text.get(next) == Some(&b'{')).then_some(Commas(false));
            }
            _ => return None,
        }
    }
}

/// Whether a `,` directly in a body ends a member (an interface's body),
/// or may continue one (`let a = 1,\n    b = 2;` in a namespace).
#[derive(Debug, Clone, Copy)]
struct Commas(bool);

/// A body being cut into members: the file's top level, or an
/// `interface`, `class` or `namespace` block.
#[derive(Debug)]
struct Frame {
    /// Bracket depth of the code directly in the body.
    depth: u32,
    /// Whether a `,` ends a member.
    commas: Commas,
    /// Leading whitespace of the members (a byte range), once seen; the
    /// top level's is empty (items start at column 0).
    indent: Option<(usize, usize)>,
    /// The last code at member level ended a member (or opened the body).
    boundary: bool,
    /// That end was a `;` or `,` (or the body's start), not a `}`: a `[`
    /// after a `}` may index the type before it.
    hard_boundary: bool,
    /// The members so far.
    members: Vec<Item>,
    /// The current member's first code line has been looked at.
    kind_known: bool,
    /// The current member is a block that may be cut, from that line.
    opens: Option<Commas>,
    /// The current member's body has been opened already.
    opened: bool,
    /// The layout was followed so far (members line up).
    followed: bool,
}

impl Frame {
    fn new(depth: u32, commas: Commas, indent: Option<(usize, usize)>) -> Frame {
        Frame {
            depth,
            commas,
            indent,
            boundary: true,
            hard_boundary: true,
            members: Vec::new(),
            kind_known: false,
            opens: None,
            opened: false,
            followed: true,
        }
    }

    fn push_member(&mut self, start: Start) {
        self.members.push(Item::leaf(start));
        self.kind_known = false;
        self.opens = None;
        self.opened = false;
    }

    /// Other code at `depth`: the member there goes on.
    fn settle(&mut self, depth: u32) {
        if depth == self.depth {
            self.boundary = false;
        }
    }
}

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut top = Frame::new(0, Commas(false), Some((0, 0)));
    top.push_member(Start { byte: 0, row: 0 });
    // The blocks inside the top level, innermost last.
    let mut frames: Vec<Frame> = Vec::new();
    let mut c = Cursor {
        text,
        i: 0,
        row: 0,
        line_start: 0,
    };
    let mut depth: u32 = 0;
    // Where the current line's code starts.
    let mut line_code = 0;
    let mut at_line_start = true;
    while c.i < n {
        if at_line_start {
            at_line_start = false;
            let code = c.i
                + text[c.i..]
                    .iter()
                    .take_while(|&&b| matches!(b, b' ' | b'\t'))
                    .count();
            line_code = code;
            let first = text.get(code).copied().unwrap_or(b'\n');
            let blank = matches!(first, b'\n' | b'\r')
                || text[code..].starts_with(b"//")
                || text[code..].starts_with(b"/*");
            let frame = frames.last_mut().unwrap_or(&mut top);
            if !blank && depth == frame.depth && first != b'}' {
                let start = Start {
                    byte: c.i,
                    row: c.row,
                };
                line_starts_member(text, frame, start, code, first);
            }
        }
        let b = text[c.i];
        match b {
            b'\n' => {
                c.newline();
                at_line_start = true;
                continue;
            }
            b' ' | b'\t' | b'\r' => c.i += 1,
            b'/' => c.comment()?,
            b'\'' | b'"' => {
                frames.last_mut().unwrap_or(&mut top).settle(depth);
                c.string()?;
            }
            b'`' => {
                frames.last_mut().unwrap_or(&mut top).settle(depth);
                c.template()?;
            }
            b'(' | b'[' | b'{' => {
                let frame = frames.last_mut().unwrap_or(&mut top);
                frame.settle(depth);
                let opens = (b == b'{' && depth == frame.depth)
                    .then_some(frame.opens)
                    .flatten();
                match opens {
                    Some(commas) if !frame.opened => {
                        frame.opened = true;
                        frames.push(Frame::new(depth + 1, commas, None));
                    }
                    Some(_) => {
                        // A second brace body in one member (the first was
                        // in its type parameters): keep it whole.
                        frame.opens = None;
                        if let Some(m) = frame.members.last_mut() {
                            m.members.clear();
                            m.tail = None;
                        }
                    }
                    None => {}
                }
                depth += 1;
                c.i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if frames.last().is_some_and(|f| f.depth > depth) {
                    let closed = frames.pop().expect("a frame");
                    let alone = b == b'}' && c.i == line_code;
                    let parent = frames.last_mut().unwrap_or(&mut top);
                    let member = parent.members.last_mut().expect("a member");
                    if alone && closed.followed && !closed.members.is_empty() {
                        member.members = closed.members;
                        member.tail = Some(Start {
                            byte: c.line_start,
                            row: c.row,
                        });
                    }
                }
                let frame = frames.last_mut().unwrap_or(&mut top);
                if depth == frame.depth {
                    frame.boundary = b == b'}';
                    frame.hard_boundary = false;
                }
                c.i += 1;
            }
            b';' | b',' => {
                let frame = frames.last_mut().unwrap_or(&mut top);
                if depth == frame.depth {
                    frame.boundary = b == b';' || frame.commas.0;
                    frame.hard_boundary = frame.boundary;
                }
                c.i += 1;
            }
            _ => {
                frames.last_mut().unwrap_or(&mut top).settle(depth);
                c.i += 1;
            }
        }
    }
    if depth != 0 {
        return None;
    }
    Some(Items {
        items: top.members,
        end: Point::new(c.row, n - c.line_start),
    })
}

/// A line whose code (at `code`, starting with `first`) lies directly in
/// `frame`'s body: it starts a member when the last member ended, it lines
/// up with the members and it starts with a name or keyword (not one that
/// continues the code above: `else`, `extends`, ...), a decorator, a
/// private name, a quoted name, or after a `;` or `,` an index signature.
/// Anything else (an operator, a bracket, a dot) goes on with the member
/// above, whatever automatic semicolon insertion would do. A line indented
/// deeper goes on with the current member; any other layout leaves the
/// body uncut.
fn line_starts_member(text: &[u8], frame: &mut Frame, start: Start, code: usize, first: u8) {
    let indent = &text[start.byte..code];
    let word_end = code + text[code..].iter().take_while(|&&b| ident_byte(b)).count();
    let top = frame.depth == 0;
    let may_start = (first.is_ascii_alphabetic() || matches!(first, b'_' | b'$' | b'@'))
        && !CONTINUATIONS.contains(&&text[code..word_end])
        || (!top && matches!(first, b'#' | b'"' | b'\''))
        || (!top && first == b'[' && frame.hard_boundary);
    let begins = match frame.indent {
        None if frame.boundary && may_start => {
            frame.indent = Some((start.byte, code));
            true
        }
        None => false,
        Some((s, e)) if indent == &text[s..e] => frame.boundary && may_start,
        Some((s, e)) if indent.len() > e - s && indent.starts_with(&text[s..e]) => false,
        Some(_) => {
            frame.followed = false;
            false
        }
    };
    // The top level's first item starts at byte 0.
    if begins && !(top && start.byte == 0) {
        frame.push_member(start);
    }
    if !frame.kind_known && first != b'@' && !frame.members.is_empty() {
        frame.kind_known = true;
        frame.opens = opens_block(text, code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").texts(text)
    }

    #[test]
    fn items_start_after_an_item_ends() {
        assert_eq!(
            cut("import a from 'a';\n// c\ninterface I {\n  x: any;\n}\ndeclare var v: {\n  new(): I;\n};\n@dec()\nclass C {}\nexport type T = string\n"),
            [
                "import a from 'a';\n// c\n",
                "interface I {\n  x: any;\n}\n",
                "declare var v: {\n  new(): I;\n};\n",
                "@dec()\nclass C {}\n",
                "export type T = string\n"
            ]
        );
        // Without a `;` the statement may go on: no cut.
        assert_eq!(cut("let a = b\nlet c = d;\n"), ["let a = b\nlet c = d;\n"]);
        // Words and lines that continue the statement above stay with it.
        assert_eq!(
            cut("if (a) {\n}\nelse {\n}\ntry {\n}\ncatch (e) {\n}\nfinally {\n}\nconst o = {\n}\n.x;\n"),
            ["if (a) {\n}\nelse {\n}\n", "try {\n}\ncatch (e) {\n}\nfinally {\n}\n", "const o = {\n}\n.x;\n"]
        );
    }

    #[test]
    fn strings_templates_and_comments_hide_their_lines() {
        let text = "const s = `a\n}\ninterface X {${ f({ k: \"}\" }) }\n`;\n/* }\ntype Y = 1;\n*/\ntype Z = '\\'';\nlet q = 1;\n";
        assert_eq!(
            cut(text),
            [
                "const s = `a\n}\ninterface X {${ f({ k: \"}\" }) }\n`;\n/* }\ntype Y = 1;\n*/\n",
                "type Z = '\\'';\n",
                "let q = 1;\n"
            ]
        );
        let items = items(text.as_bytes()).unwrap();
        assert_eq!(items.items[1].start.row, 7);
        assert_eq!(items.end, Point::new(9, 0));
    }

    /// The first item's header, members (and closing line).
    fn parts(text: &str) -> Vec<&str> {
        items(text.as_bytes()).expect("followed").first_parts(text)
    }

    #[test]
    fn interface_class_and_namespace_blocks_are_cut_into_members() {
        let text = "declare namespace ts {\n    // note\n    export interface I<T = any> extends J {\n        a: string;\n        /** doc */\n        b(x: number,\n          y: string): void,\n        [k: string]: any\n    }\n    let a = 1,\n        b = 2;\n    export abstract class C {\n        @dec()\n        m() {\n        }\n        #p = 1;\n        'q'(): void {}\n    }\n    function f() {\n    }\n    else;\n}\nexport const z = 1;\n";
        let cut = items(text.as_bytes()).expect("followed");
        assert_eq!(cut.items.len(), 2);
        assert_eq!(
            parts(text),
            [
                "declare namespace ts {\n    // note\n",
                "    export interface I<T = any> extends J {\n        a: string;\n        /** doc */\n        b(x: number,\n          y: string): void,\n        [k: string]: any\n    }\n",
                "    let a = 1,\n        b = 2;\n",
                "    export abstract class C {\n        @dec()\n        m() {\n        }\n        #p = 1;\n        'q'(): void {}\n    }\n",
                "    function f() {\n    }\n    else;\n",
                "}\n",
            ]
        );
        let ns = &cut.items[0];
        let end = |k: usize| {
            ns.members
                .get(k + 1)
                .map_or(ns.tail.unwrap().byte, |m| m.start.byte)
        };
        assert_eq!(
            ns.members[0].parts(end(0), text),
            [
                "    export interface I<T = any> extends J {\n",
                "        a: string;\n        /** doc */\n",
                "        b(x: number,\n          y: string): void,\n",
                "        [k: string]: any\n",
                "    }\n",
            ]
        );
        assert_eq!(
            ns.members[2].parts(end(2), text),
            [
                "    export abstract class C {\n",
                "        @dec()\n        m() {\n        }\n",
                "        #p = 1;\n",
                "        'q'(): void {}\n",
                "    }\n",
            ]
        );
        // A `[` after a `}` may index the type above; a line without a
        // `;` before it, or one starting with an operator, goes on.
        assert_eq!(
            parts("interface I {\n  a: {\n  }\n  [\"x\"];\n  b: string\n  c: number;\n  d: A\n  | B;\n}\n"),
            [
                "interface I {\n",
                "  a: {\n  }\n  [\"x\"];\n",
                "  b: string\n  c: number;\n",
                "  d: A\n  | B;\n",
                "}\n"
            ]
        );
        // Not cut: `module`, `enum` and `type` blocks, a one-line body, a
        // body whose `}` shares its line, a brace in the type parameters
        // before the body, lines that do not line up, and words that only
        // look like a declaration.
        for text in [
            "declare module \"m\" {\n  const a: 1;\n  const b: 2;\n}\n",
            "enum E {\n  A,\n  B,\n}\n",
            "type T = {\n  a: 1;\n  b: 2;\n}\n",
            "interface I { a: 1; b: 2 }\n",
            "interface I {\n  a: 1;\n  b: 2; }\n",
            "interface I<T extends { x: 1 }> {\n  a: 1;\n  b: 2;\n}\n",
            "class C {\n  a = 1;\n b = 2;\n}\n",
            "namespace = {\n  a: 1,\n  b: 2,\n};\n",
        ] {
            assert_eq!(parts(text).len(), 1, "{text}");
        }
    }

    #[test]
    fn what_it_cannot_follow_is_parsed_whole() {
        assert!(items(b"const a = b / c;\n").is_none());
        assert!(items(b"const r = /x/;\n").is_none());
        assert!(items(b"const s = 'open\n").is_none());
        assert!(items(b"const t = `open\n").is_none());
        assert!(items(b"/* open\n").is_none());
        assert!(items(b"f(1;\n").is_none());
        assert!(items(b"f)\n").is_none());
    }
}
