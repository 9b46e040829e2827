//! Partial parsing: a file's top-level items (statements and definitions
//! directly under its root), the members of the blocks among them, and the
//! byte ranges a scan must parse when it only needs the parts that hold
//! some rule's literals.
//!
//! Parsing dominates a scan, and in a big file most items hold none of the
//! rules' tokens. When every active rule is local to the unit that holds
//! its match (`matcher::locality`), tree-sitter parses only the units that
//! hold a rule's literals (`Parser::set_included_ranges`: nodes keep their
//! positions in the whole file). The pipeline treats that parse as a
//! search: a file whose partial parse has no match and no syntax error is
//! done; any match, or any error, and the file is parsed and matched whole,
//! so every reported match, edit and diff comes from a full parse.
//!
//! The units nest: a Python class or a Rust `impl`, `trait` or `mod` block
//! is cut into its members, and with [`Depth::Bodies`] a function
//! (top-level, a method, or a nested Python one) is cut into the statements
//! of its body as well. Python (`python.rs`), Rust
//! (`rust.rs`) and TypeScript (`typescript.rs`, top-level items only) are
//! split; other languages are parsed whole.

mod frames;
mod python;
mod rust;
mod typescript;

use crate::lang::Lang;
use tree_sitter::{Point, Range};

/// How finely a file may be cut: what the active rules' locality allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Top-level items, and the members of classes and blocks.
    Items,
    /// Also the statements of function bodies.
    Bodies,
}

/// Node kinds that may enclose a unit without lying in it (besides the
/// file's root): what a class or function around a member or statement
/// becomes in the tree, when the file is cut down to `depth`.
pub fn containers(lang: Lang, depth: Depth) -> &'static [&'static str] {
    match (lang, depth) {
        (Lang::Python, Depth::Items) => &["class_definition", "block", "decorated_definition"],
        (Lang::Python, Depth::Bodies) => &[
            "class_definition",
            "block",
            "decorated_definition",
            "function_definition",
        ],
        (Lang::Rust, Depth::Items) => &["impl_item", "trait_item", "mod_item", "declaration_list"],
        (Lang::Rust, Depth::Bodies) => &[
            "impl_item",
            "trait_item",
            "mod_item",
            "declaration_list",
            "function_item",
            "block",
        ],
        // Cut blocks at either depth (function bodies are not cut), and
        // what wraps them: `export`, `declare`, and the expression statement
        // tree-sitter puts around a top-level `namespace`.
        (Lang::TypeScript, _) => &[
            "interface_declaration",
            "interface_body",
            "class_declaration",
            "abstract_class_declaration",
            "class",
            "class_body",
            "internal_module",
            "statement_block",
            "ambient_declaration",
            "export_statement",
            "expression_statement",
        ],
        _ => &[],
    }
}

/// Fields that only ever name a part of a container's header (what comes
/// before its first member), which a partial parse keeps whenever it keeps
/// any of the container: a function's or class's name, parameters, type
/// parameters, return type or bases, an `impl`'s trait and type.
pub fn header_fields(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &[
            "name",
            "parameters",
            "return_type",
            "type_parameters",
            "superclasses",
        ],
        Lang::Rust => &[
            "name",
            "parameters",
            "return_type",
            "type_parameters",
            "trait",
            "type",
            "bounds",
        ],
        _ => &[],
    }
}

/// What to parse of a file.
pub struct Plan {
    /// Included ranges, in order; empty when no item needs parsing.
    pub ranges: Vec<Range>,
    /// Bytes inside `ranges`.
    pub bytes: usize,
}

/// Above this share of a file's bytes, parsing it whole costs no more.
pub const MOST: f64 = 0.9;

/// The units of `text` that `keep` accepts (given each unit's bytes), cut
/// down to `depth`, as ranges to parse; `None` when the file should be
/// parsed whole (language not split, text the splitter does not follow, or
/// at least `most` of its bytes kept: [`MOST`], or above 1 to split
/// whenever possible).
///
/// A block is kept as its header, the members that hold something (the
/// first one if only the header does: a body cannot be empty) and its
/// closing line; a block that holds nothing as a whole is dropped without
/// looking at its members (`keep` is monotone: a part of a text holds no
/// more than the text).
pub fn plan(
    lang: Lang,
    text: &str,
    most: f64,
    depth: Depth,
    keep: impl Fn(&[u8]) -> bool,
) -> Option<Plan> {
    let items = split(lang, text)?;
    let bytes = text.as_bytes();
    let file_end = Start {
        byte: bytes.len(),
        row: items.end.row,
    };
    let cutter = Cutter {
        bytes,
        depth,
        keep: &keep,
    };
    let mut pieces: Vec<(Start, Start)> = Vec::new();
    for (i, item) in items.items.iter().enumerate() {
        let end = items.items.get(i + 1).map_or(file_end, |next| next.start);
        cutter.pieces(item, end, false, &mut pieces);
    }
    let plan = to_plan(&pieces, bytes, items.end);
    if plan.bytes as f64 >= most * bytes.len() as f64 {
        return None;
    }
    Some(plan)
}

/// `text` cut into items by its language's splitter; `None` for a language
/// without one, or text the splitter does not follow.
fn split(lang: Lang, text: &str) -> Option<Items> {
    match lang {
        Lang::Python => python::items(text.as_bytes()),
        Lang::Rust => rust::items(text.as_bytes()),
        Lang::TypeScript => typescript::items(text.as_bytes()),
        _ => None,
    }
}

/// Pieces (in order) as included ranges, adjacent ones merged.
fn to_plan(pieces: &[(Start, Start)], bytes: &[u8], end: Point) -> Plan {
    let mut ranges: Vec<Range> = Vec::new();
    let mut kept = 0;
    for &(from, to) in pieces {
        let end_point = if to.byte == bytes.len() {
            end
        } else {
            Point::new(to.row, 0)
        };
        kept += to.byte - from.byte;
        match ranges.last_mut() {
            Some(last) if last.end_byte == from.byte => {
                last.end_byte = to.byte;
                last.end_point = end_point;
            }
            _ => ranges.push(Range {
                start_byte: from.byte,
                end_byte: to.byte,
                start_point: Point::new(from.row, 0),
                end_point,
            }),
        }
    }
    Plan {
        ranges,
        bytes: kept,
    }
}

/// The parts of `new` (a rewrite of `old`) that differ from `old`, as
/// ranges of `new` to parse, when both texts cut into units of the same
/// shape (the same items, members and kinds at every level, down to
/// function bodies): a unit whose text is unchanged parses as before, so
/// parsing the changed units (with the headers of the blocks around them)
/// tells whether the rewrite added a syntax error. `None` when the shapes
/// differ, the splitter does not follow either text, or at least `most`
/// of `new` changed.
pub fn changed(lang: Lang, old: &str, new: &str, most: f64) -> Option<Plan> {
    let (a, b) = (split(lang, old)?, split(lang, new)?);
    if a.items.len() != b.items.len() {
        return None;
    }
    let ends = |items: &Items, text: &str| {
        let file_end = Start {
            byte: text.len(),
            row: items.end.row,
        };
        (0..items.items.len())
            .map(|i| items.items.get(i + 1).map_or(file_end, |n| n.start))
            .collect::<Vec<_>>()
    };
    let (ea, eb) = (ends(&a, old), ends(&b, new));
    let mut pieces = Vec::new();
    for (k, (x, y)) in a.items.iter().zip(&b.items).enumerate() {
        let pair = Pair {
            old: old.as_bytes(),
            new: new.as_bytes(),
        };
        pair.diff(x, ea[k], y, eb[k], &mut pieces)?;
    }
    let plan = to_plan(&pieces, new.as_bytes(), b.end);
    ((plan.bytes as f64) < most * new.len() as f64).then_some(plan)
}
/// Cuts items into the pieces a plan keeps.
struct Cutter<'a, F> {
    bytes: &'a [u8],
    depth: Depth,
    keep: &'a F,
}

impl<F: Fn(&[u8]) -> bool> Cutter<'_, F> {
    fn holds(&self, from: Start, to: Start) -> bool {
        (self.keep)(&self.bytes[from.byte..to.byte])
    }

    fn cut(&self, item: &Item) -> bool {
        !item.members.is_empty()
            && match item.kind {
                Kind::Block => true,
                Kind::Function { .. } => self.depth == Depth::Bodies,
            }
    }

    /// Appends the pieces of `item` (which ends at `end`) that hold
    /// something, or with `force` its smallest well-formed part (header and
    /// first member, down to a leaf); returns whether it kept any.
    fn pieces(&self, item: &Item, end: Start, force: bool, out: &mut Vec<(Start, Start)>) -> bool {
        if !force && !self.holds(item.start, end) {
            return false;
        }
        if !self.cut(item) {
            out.push((item.start, end));
            return true;
        }
        let body_end = item.tail.unwrap_or(end);
        let member_end = |k: usize| item.members.get(k + 1).map_or(body_end, |m| m.start);
        let first = item.members[0].start;
        let mut inner = Vec::new();
        let last = item.members.len() - 1;
        for (k, member) in item.members.iter().enumerate() {
            // A Rust body's last statement may be its value, which parses
            // otherwise once another statement follows it: keep it, so
            // every kept statement has the place it has in the file.
            let force = k == last && matches!(item.kind, Kind::Function { keep_last: true });
            self.pieces(member, member_end(k), force, &mut inner);
        }
        if inner.is_empty() {
            if !force && !self.holds(item.start, first) {
                return false;
            }
            self.pieces(&item.members[0], member_end(0), true, &mut inner);
        }
        out.push((item.start, first));
        out.extend(inner);
        if let Some(tail) = item.tail {
            out.push((tail, end));
        }
        true
    }
}

/// An item of the original text and its counterpart in the rewrite.
struct Pair<'a> {
    old: &'a [u8],
    new: &'a [u8],
}

impl Pair<'_> {
    /// Appends the pieces of `y` (ending at `ye`) that differ from `x`
    /// (ending at `xe`); `None` when the two are shaped differently.
    fn diff(
        &self,
        x: &Item,
        xe: Start,
        y: &Item,
        ye: Start,
        out: &mut Vec<(Start, Start)>,
    ) -> Option<()> {
        if x.kind != y.kind
            || x.members.len() != y.members.len()
            || x.tail.is_some() != y.tail.is_some()
        {
            return None;
        }
        let same = |a: Start, b: Start, c: Start, d: Start| {
            self.old[a.byte..b.byte] == self.new[c.byte..d.byte]
        };
        if same(x.start, xe, y.start, ye) {
            return Some(());
        }
        if x.members.is_empty() {
            out.push((y.start, ye));
            return Some(());
        }
        let (xb, yb) = (x.tail.unwrap_or(xe), y.tail.unwrap_or(ye));
        let header_same = same(x.start, x.members[0].start, y.start, y.members[0].start);
        let tail_same = match (x.tail, y.tail) {
            (Some(xt), Some(yt)) => same(xt, xe, yt, ye),
            _ => true,
        };
        if !header_same || !tail_same {
            // What the header or closing line say may change how the body
            // parses: the whole block.
            out.push((y.start, ye));
            return Some(());
        }
        let mut inner = Vec::new();
        for k in 0..x.members.len() {
            let xk = x.members.get(k + 1).map_or(xb, |m| m.start);
            let yk = y.members.get(k + 1).map_or(yb, |m| m.start);
            self.diff(&x.members[k], xk, &y.members[k], yk, &mut inner)?;
        }
        out.push((y.start, y.members[0].start));
        out.extend(inner);
        if let Some(t) = y.tail {
            out.push((t, ye));
        }
        Some(())
    }
}

/// Where an item starts: a line start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    byte: usize,
    row: usize,
}

/// How an item with members is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A class or block: always cut into its members.
    Block,
    /// A function: its members are the statements of its body, cut only
    /// at [`Depth::Bodies`]; with `keep_last` (Rust) the last statement is
    /// kept whenever the body is.
    Function { keep_last: bool },
}

/// An item; a class, block or function also lists its members (its header
/// is what comes before the first; each member ends where the next
/// starts, the last at the closing line or the item's end) and where its
/// closing line starts, if it has one (Rust's `}`).
#[derive(Debug)]
struct Item {
    start: Start,
    kind: Kind,
    members: Vec<Item>,
    tail: Option<Start>,
}

impl Item {
    fn leaf(start: Start) -> Item {
        Item {
            start,
            kind: Kind::Block,
            members: Vec::new(),
            tail: None,
        }
    }
}

/// A file cut into top-level items: the first starts at byte 0, each ends
/// where the next starts, the last at the end of the file (`end`).
#[derive(Debug)]
struct Items {
    items: Vec<Item>,
    end: Point,
}

#[cfg(test)]
impl Items {
    /// Each top-level item's text.
    fn texts<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut cuts: Vec<usize> = self.items.iter().map(|i| i.start.byte).collect();
        cuts.push(text.len());
        cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
    }

    /// The first item's header, members and closing line (just the item
    /// when it is not cut).
    fn first_parts<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let end = self.items.get(1).map_or(text.len(), |n| n.start.byte);
        self.items[0].parts(end, text)
    }
}

#[cfg(test)]
impl Item {
    /// The item's header, members and closing line, given where it ends.
    fn parts<'t>(&self, end: usize, text: &'t str) -> Vec<&'t str> {
        let mut cuts = vec![self.start.byte];
        cuts.extend(self.members.iter().map(|m| m.start.byte));
        cuts.extend(self.tail.map(|t| t.byte));
        cuts.push(end);
        cuts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans<'t>(plan: &Plan, text: &'t str) -> Vec<&'t str> {
        plan.ranges
            .iter()
            .map(|r| &text[r.start_byte..r.end_byte])
            .collect()
    }

    #[test]
    fn a_rewrite_is_parsed_only_where_it_changed_a_unit() {
        let old = "import os\n\nclass C:\n    def m(self):\n        a = 1\n        return a == None\n\n    def n(self):\n        pass\n\ndef f():\n    return 2\n";
        let new = old.replace("a == None", "a is None");
        let plan = changed(Lang::Python, old, &new, 1.1).expect("same shape");
        assert_eq!(
            spans(&plan, &new),
            [
                "class C:\n    def m(self):\n",
                "        return a is None\n\n"
            ]
        );
        assert_eq!(plan.ranges[1].start_point, Point::new(5, 0));
        // Nothing changed: nothing to parse.
        assert!(changed(Lang::Python, old, old, 1.1)
            .unwrap()
            .ranges
            .is_empty());
        // A changed header takes its whole block.
        let new = old.replace("def f():", "def f(x):");
        let plan = changed(Lang::Python, old, &new, 1.1).expect("same shape");
        assert_eq!(spans(&plan, &new), ["def f(x):\n    return 2\n"]);
        // Another shape (a new item, a statement turned into two, a string
        // left open, a body indented otherwise): parse whole.
        for new in [
            old.replace("import os\n", "import os\nimport re\n"),
            old.replace("        pass\n", "        pass\n        pass\n"),
            old.replace("return 2", "return '''2"),
            old.replace("        a = 1\n", "          a = 1\n"),
        ] {
            assert!(changed(Lang::Python, old, &new, 1.1).is_none(), "{new}");
        }
        // Rust: a changed member of an impl block.
        let old = "impl S {\n    fn a() {}\n\n    fn b() -> bool { v.len() == 0 }\n}\nfn c() {}\n";
        let new = old.replace("v.len() == 0", "v.is_empty()");
        let plan = changed(Lang::Rust, old, &new, 1.1).expect("same shape");
        assert_eq!(
            spans(&plan, &new),
            ["impl S {\n", "    fn b() -> bool { v.is_empty() }\n}\n"]
        );
        // Languages without a splitter are parsed whole.
        assert!(changed(Lang::Go, "a\n", "b\n", 1.1).is_none());
    }

    #[test]
    fn kept_items_become_merged_ranges_with_their_positions() {
        let text = "import os\n\ndef f():\n    return x == None\n\ndef g():\n    pass\n\nclass C:\n    y = None\n\n    def h(self):\n        pass\n";
        let plan = plan(Lang::Python, text, MOST, Depth::Items, |item| {
            memchr::memmem::find(item, b"None").is_some()
        })
        .expect("split");
        assert_eq!(
            spans(&plan, text),
            [
                "def f():\n    return x == None\n\n",
                "class C:\n    y = None\n\n"
            ]
        );
        assert_eq!(plan.ranges[0].start_point, Point::new(2, 0));
        assert_eq!(plan.ranges[0].end_point, Point::new(5, 0));
        assert_eq!(plan.ranges[1].end_point, Point::new(11, 0));
        // A class whose header alone holds something keeps its first
        // member, so the body is not empty.
        let plan = self::plan(Lang::Python, text, MOST, Depth::Items, |item| {
            memchr::memmem::find(item, b"class").is_some()
        })
        .expect("split");
        assert_eq!(
            &text[plan.ranges[0].start_byte..plan.ranges[0].end_byte],
            "class C:\n    y = None\n\n"
        );
        // Nearly everything kept: parse whole.
        assert!(self::plan(Lang::Python, text, MOST, Depth::Items, |_| true).is_none());
        assert!(self::plan(Lang::Python, text, 1.1, Depth::Items, |_| true).is_some());
        // Languages without a splitter are parsed whole.
        assert!(self::plan(Lang::Go, "func f() {}\n", 1.1, Depth::Items, |_| false).is_none());
        // A Rust block keeps its closing line.
        let text = "impl S {\n    fn a() {}\n\n    fn b() { None }\n}\nfn c() {}\n";
        let plan = self::plan(Lang::Rust, text, MOST, Depth::Items, |item| {
            memchr::memmem::find(item, b"None").is_some()
        })
        .expect("split");
        assert_eq!(
            spans(&plan, text),
            ["impl S {\n", "    fn b() { None }\n}\n"]
        );
    }
}
