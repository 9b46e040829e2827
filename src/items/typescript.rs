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
//! would do; comment lines stay with the item above. Items are not cut
//! further. Anything the scanner does not follow gives `None` and the file
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

pub(super) fn items(text: &[u8]) -> Option<Items> {
    let n = text.len();
    let mut items = vec![Item::leaf(Start { byte: 0, row: 0 })];
    let mut c = Cursor {
        text,
        i: 0,
        row: 0,
        line_start: 0,
    };
    let mut depth: u32 = 0;
    // The last top-level code ended an item (true at the file's start).
    let mut boundary = true;
    let mut at_line_start = true;
    while c.i < n {
        if at_line_start {
            at_line_start = false;
            let i = c.i;
            let first = text[i];
            let word_end = i + text[i..].iter().take_while(|&&b| ident_byte(b)).count();
            let starts = (first.is_ascii_alphabetic() || matches!(first, b'_' | b'$' | b'@'))
                && !CONTINUATIONS.contains(&&text[i..word_end]);
            if depth == 0 && boundary && i > 0 && starts {
                items.push(Item::leaf(Start {
                    byte: i,
                    row: c.row,
                }));
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
                c.string()?;
                boundary &= depth > 0;
            }
            b'`' => {
                c.template()?;
                boundary &= depth > 0;
            }
            b'(' | b'[' | b'{' => {
                if depth == 0 {
                    boundary = false;
                }
                depth += 1;
                c.i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    boundary = b == b'}';
                }
                c.i += 1;
            }
            b';' => {
                if depth == 0 {
                    boundary = true;
                }
                c.i += 1;
            }
            _ => {
                if depth == 0 {
                    boundary = false;
                }
                c.i += 1;
            }
        }
    }
    if depth != 0 {
        return None;
    }
    Some(Items {
        items,
        end: Point::new(c.row, n - c.line_start),
    })
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
