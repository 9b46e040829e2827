//! Partial parsing: a file's top-level items (statements and definitions
//! directly under its root), and the byte ranges a scan must parse when it
//! only needs the items that hold some rule's literals.
//!
//! Parsing dominates a scan, and in a big file most top-level items hold
//! none of the rules' tokens. When every active rule is item-local
//! (`matcher::locality`), tree-sitter parses only the items that hold a
//! rule's literals (`Parser::set_included_ranges`: nodes keep their
//! positions in the whole file). The pipeline treats that parse as a
//! search: a file whose partial parse has no match and no syntax error is
//! done; any match, or any error, and the file is parsed and matched whole,
//! so every reported match, edit and diff comes from a full parse.
//!
//! Python (`python.rs`) and Rust (`rust.rs`) are split; other languages
//! are parsed whole.

mod python;
mod rust;

use crate::lang::Lang;
use tree_sitter::{Point, Range};

/// Node kinds that may enclose an item without lying in it (besides the
/// file's root): what a class around a member becomes in the tree.
pub fn containers(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &["class_definition", "block", "decorated_definition"],
        Lang::Rust => &["impl_item", "trait_item", "mod_item", "declaration_list"],
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

/// The items of `text` that `keep` accepts (given each item's bytes), as
/// ranges to parse; `None` when the file should be parsed whole (language
/// not split, text the splitter does not follow, or at least `most` of its
/// bytes kept: [`MOST`], or above 1 to split whenever possible).
pub fn plan(lang: Lang, text: &str, most: f64, keep: impl Fn(&[u8]) -> bool) -> Option<Plan> {
    let items = match lang {
        Lang::Python => python::items(text.as_bytes())?,
        Lang::Rust => rust::items(text.as_bytes())?,
        _ => return None,
    };
    let bytes = text.as_bytes();
    let mut ranges: Vec<Range> = Vec::new();
    let mut kept = 0;
    let mut add = |from: Start, to: Start| {
        let end_point = if to.byte == bytes.len() {
            items.end
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
    };
    let file_end = Start {
        byte: bytes.len(),
        row: items.end.row,
    };
    for (i, item) in items.items.iter().enumerate() {
        let end = items.items.get(i + 1).map_or(file_end, |next| next.start);
        let text_of = |from: Start, to: Start| &bytes[from.byte..to.byte];
        let Some(&first) = item.members.first() else {
            if keep(text_of(item.start, end)) {
                add(item.start, end);
            }
            continue;
        };
        // A class or block: its header, then the members that hold
        // something (the first one if only the header does: a body cannot
        // be empty), then its closing line if it has one.
        let body_end = item.tail.unwrap_or(end);
        let member_end = |k: usize| item.members.get(k + 1).copied().unwrap_or(body_end);
        let mut wanted: Vec<bool> = (0..item.members.len())
            .map(|k| keep(text_of(item.members[k], member_end(k))))
            .collect();
        if !wanted.contains(&true) {
            if !keep(text_of(item.start, first)) {
                continue;
            }
            wanted[0] = true;
        }
        add(item.start, first);
        for (k, _) in wanted.iter().enumerate().filter(|(_, w)| **w) {
            add(item.members[k], member_end(k));
        }
        if let Some(tail) = item.tail {
            add(tail, end);
        }
    }
    if kept as f64 >= most * bytes.len() as f64 {
        return None;
    }
    Some(Plan {
        ranges,
        bytes: kept,
    })
}

/// Where an item starts: a line start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Start {
    byte: usize,
    row: usize,
}

/// A top-level item; a class or block also lists where its members start
/// (its header is what comes before the first) and where its closing line
/// starts, if it has one (Rust's `}`).
#[derive(Debug)]
struct Item {
    start: Start,
    members: Vec<Start>,
    tail: Option<Start>,
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
        let item = &self.items[0];
        let mut cuts = vec![item.start.byte];
        cuts.extend(item.members.iter().map(|m| m.byte));
        cuts.extend(item.tail.map(|t| t.byte));
        cuts.push(self.items.get(1).map_or(text.len(), |n| n.start.byte));
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
    fn kept_items_become_merged_ranges_with_their_positions() {
        let text = "import os\n\ndef f():\n    return x == None\n\ndef g():\n    pass\n\nclass C:\n    y = None\n\n    def h(self):\n        pass\n";
        let plan = plan(Lang::Python, text, MOST, |item| {
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
        let plan = self::plan(Lang::Python, text, MOST, |item| {
            memchr::memmem::find(item, b"class").is_some()
        })
        .expect("split");
        assert_eq!(
            &text[plan.ranges[0].start_byte..plan.ranges[0].end_byte],
            "class C:\n    y = None\n\n"
        );
        // Nearly everything kept: parse whole.
        assert!(self::plan(Lang::Python, text, MOST, |_| true).is_none());
        assert!(self::plan(Lang::Python, text, 1.1, |_| true).is_some());
        // Languages without a splitter are parsed whole.
        assert!(self::plan(Lang::Go, "func f() {}\n", 1.1, |_| false).is_none());
        // A Rust block keeps its closing line.
        let text = "impl S {\n    fn a() {}\n\n    fn b() { None }\n}\nfn c() {}\n";
        let plan = self::plan(Lang::Rust, text, MOST, |item| {
            memchr::memmem::find(item, b"None").is_some()
        })
        .expect("split");
        assert_eq!(
            spans(&plan, text),
            ["impl S {\n", "    fn b() { None }\n}\n"]
        );
    }
}
