//! Stage 5 helpers: checks on rewritten text. (The error-count comparison
//! itself lives in `pipeline::finalize`, which owns the retry policy.)

use std::ops::Range;

/// Whether some node spanning exactly `range` has kind `kind` (a hole's
/// `kind:` constraint: the fill must parse as that node in place).
pub fn has_node_of_kind(tree: &tree_sitter::Tree, range: Range<usize>, kind: u16) -> bool {
    if range.is_empty() {
        return false;
    }
    let Some(mut node) = tree
        .root_node()
        .descendant_for_byte_range(range.start, range.end)
    else {
        return false;
    };
    // Smallest node covering the range; it and its same-span ancestors
    // are the candidates.
    loop {
        if node.byte_range() == range && node.kind_id() == kind {
            return true;
        }
        match node.parent() {
            Some(p) if p.byte_range() == range => node = p,
            _ => break,
        }
    }
    // A fill may also be exactly one child of the smallest covering node.
    let mut cursor = node.walk();
    let found = node
        .children(&mut cursor)
        .any(|c| c.byte_range() == range && c.kind_id() == kind);
    found
}

/// Byte ranges of the ERROR and MISSING nodes of `tree` (a MISSING node is
/// empty: the place where the parser expected a token).
pub fn error_ranges(tree: &tree_sitter::Tree) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            out.push(node.byte_range());
        }
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}
