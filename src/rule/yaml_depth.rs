//! A cheap bound on YAML flow nesting, checked before `serde_yaml` sees a
//! rule.
//!
//! libyaml's scanner (under `serde_yaml`) does work proportional to the
//! flow nesting (`[[[...` / `{{{...`) for every token, so a rule file of
//! nothing but brackets takes time quadratic in its size: minutes for a
//! megabyte. `serde_yaml` refuses nesting deeper than 128 only after the
//! whole document is scanned. This pass reads the document once, tracking
//! only what can open a flow collection, and stops at the first level past
//! the limit. (Block nesting needs no such pass: each level costs a line of
//! more indentation, so its scan stays linear in the file's size, and
//! `serde_yaml` reports it.)

/// How deep YAML collections may nest in a rule document; `serde_yaml`
/// refuses deeper ones anyway.
pub const MAX_YAML_DEPTH: usize = 128;

/// The line (1-based, within `doc`) where flow collections first nest deeper
/// than `limit` levels below the document's top-level mapping, if they do.
/// Brackets inside quoted strings, plain scalars (`foo[0]`), comments and
/// block scalars (`|`, `>`) are text, not nesting. A document that is not
/// valid YAML may give `None`: `serde_yaml` reports its errors.
pub fn too_deep(doc: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    // Indentation of the line that opened a block scalar, while inside it.
    let mut block_scalar: Option<usize> = None;
    // Quote open across lines (flow scalars may span lines).
    let mut quote: Option<u8> = None;
    for (i, line) in doc.split('\n').enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        if let Some(open) = block_scalar {
            if line.trim().is_empty() || indent > open {
                continue;
            }
            block_scalar = None;
        }
        let mut j = indent;
        // In block context only the first character of a value can open a
        // flow collection; anything else starts a plain scalar.
        let mut value_start = depth == 0;
        while j < bytes.len() {
            let b = bytes[j];
            if let Some(q) = quote {
                match (q, b) {
                    (b'"', b'\\') => j += 1,
                    (b'\'', b'\'') if bytes.get(j + 1) == Some(&b'\'') => j += 1,
                    _ if b == q => quote = None,
                    _ => {}
                }
                j += 1;
                continue;
            }
            match b {
                b' ' | b'\t' => {}
                b'#' if j == 0 || bytes[j - 1] == b' ' || bytes[j - 1] == b'\t' => break,
                b'"' | b'\'' if value_start => {
                    quote = Some(b);
                    value_start = false;
                }
                // Inside a flow collection these are always indicators.
                b'[' | b'{' if value_start || depth > 0 => {
                    depth += 1;
                    if depth > limit {
                        return Some(i + 1);
                    }
                    value_start = true;
                }
                b']' | b'}' if depth > 0 => {
                    depth -= 1;
                    value_start = false;
                }
                b',' if depth > 0 => value_start = true,
                b'-' | b'?' | b':' if bytes.get(j + 1).is_none_or(|c| *c == b' ') => {
                    value_start = true;
                }
                b'|' | b'>' if depth == 0 && value_start => {
                    block_scalar = Some(indent);
                    break;
                }
                _ if depth == 0 => {
                    // A plain scalar (or a key) runs to `: ` or the comment.
                    value_start = false;
                    while j + 1 < bytes.len() {
                        let next = bytes[j + 1];
                        if (next == b':' && bytes.get(j + 2).is_none_or(|c| *c == b' '))
                            || (next == b'#' && bytes[j] == b' ')
                        {
                            break;
                        }
                        j += 1;
                    }
                }
                _ => value_start = false,
            }
            j += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_flow_nesting() {
        let flow = format!("a: {}1{}\n", "[".repeat(10), "]".repeat(10));
        assert_eq!(too_deep(&flow, 10), None);
        assert_eq!(too_deep(&flow, 9), Some(1));
        let across_lines = "rule:\n  any: [\n    {kind: a},\n    [[[b]]]\n  ]\n";
        assert_eq!(too_deep(across_lines, 4), None);
        assert_eq!(too_deep(across_lines, 3), Some(4));
    }

    #[test]
    fn deep_flow_nesting_is_found_at_its_line() {
        let n = 1_000_000;
        let doc = format!("id: t\nrule:\n  kind: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(too_deep(&doc, MAX_YAML_DEPTH), Some(3));
    }

    #[test]
    fn brackets_in_text_are_not_nesting() {
        let deep = "[".repeat(300);
        for doc in [
            format!("pattern: foo{deep}\n"),
            format!("pattern: '{deep}'\n"),
            format!("pattern: \"{deep}\\\"\"\n"),
            format!("id: t # {deep}\n"),
            format!("fix: |\n  {deep}\n  more {deep}\nid: t\n"),
            format!("fix: >-\n    {deep}\n\n    {deep}\nid: t\n"),
            format!("message: 'it''s {deep}'\n"),
        ] {
            assert_eq!(too_deep(&doc, MAX_YAML_DEPTH), None, "{doc:.60}");
        }
        // After a block scalar ends, flow nesting counts again.
        let doc = format!("fix: |\n  x\nrule: {deep}\n");
        assert_eq!(too_deep(&doc, MAX_YAML_DEPTH), Some(3));
    }

    #[test]
    fn ordinary_rules_pass() {
        let doc = "id: t\nlanguage: rust\nrule: {all: [{kind: a}, {not: {kind: b}}]}\n";
        assert_eq!(too_deep(doc, MAX_YAML_DEPTH), None);
        assert_eq!(too_deep(doc, 4), None);
        assert_eq!(too_deep(doc, 3), Some(3));
        // A quote inside a flow scalar does not open a string.
        assert_eq!(too_deep("message: [it's, [a]]\n", 1), Some(1));
    }
}
