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

use super::frames::{self, Frame, Stack};
use super::{Items, Kind, Start};
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

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut stack = Stack::new(Commas(false));
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
            let (code, first, blank) = frames::line_code(text, c.i);
            line_code = code;
            let top = stack.at_top();
            let frame = stack.current();
            if !blank && depth == frame.depth && first != b'}' {
                let start = Start {
                    byte: c.i,
                    row: c.row,
                };
                line_starts_member(text, frame, top, start, code, first);
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
                stack.current().settle(depth);
                c.string()?;
            }
            b'`' => {
                stack.current().settle(depth);
                c.template()?;
            }
            b'(' | b'[' | b'{' => {
                stack.open(b, depth);
                depth += 1;
                c.i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                let tail = Start {
                    byte: c.line_start,
                    row: c.row,
                };
                stack.close(b, depth, b == b'}' && c.i == line_code, tail, |_| {
                    Kind::Block
                });
                c.i += 1;
            }
            b';' | b',' => {
                let frame = stack.current();
                let ends = b == b';' || frame.kind.0;
                frame.separator(depth, ends);
                c.i += 1;
            }
            _ => {
                stack.current().settle(depth);
                c.i += 1;
            }
        }
    }
    if depth != 0 {
        return None;
    }
    Some(Items {
        items: stack.finish(),
        end: Point::new(c.row, n - c.line_start),
    })
}

/// A line whose code (at `code`, starting with `first`) lies directly in
/// `frame`'s body (the top level's with `top`): it may start a member if
/// it starts with a name or keyword (not one that continues the code
/// above: `else`, `extends`, ...) or a decorator, and inside a block also
/// with a private or quoted name, or after a `;` or `,` an index signature.
/// Anything else (an operator, a bracket, a dot) goes on with the member
/// above, whatever automatic semicolon insertion would do. The first code
/// line of a member tells whether it opens a block to cut.
fn line_starts_member(
    text: &[u8],
    frame: &mut Frame<Commas>,
    top: bool,
    start: Start,
    code: usize,
    first: u8,
) {
    let word_end = code + text[code..].iter().take_while(|&&b| ident_byte(b)).count();
    let may_start = (first.is_ascii_alphabetic() || matches!(first, b'_' | b'$' | b'@'))
        && !CONTINUATIONS.contains(&&text[code..word_end])
        || (!top && matches!(first, b'#' | b'"' | b'\''))
        || (!top && first == b'[' && !frame.brace_ended);
    frame.line(text, start, code, may_start);
    if frame.kind_unknown() && first != b'@' {
        frame.learn(opens_block(text, code));
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
