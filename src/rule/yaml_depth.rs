//! A cheap bound on YAML nesting, checked before `serde_yaml` sees a rule.
//!
//! libyaml's scanner (under `serde_yaml`) does work proportional to the
//! flow nesting (`[[[...` / `{{{...`) for every token, so a rule file of
//! nothing but brackets takes time quadratic in its size: minutes for a
//! megabyte. `serde_yaml` refuses nesting deeper than 128 only after the
//! whole document is scanned. Here the same scanner runs token by token and
//! stops at the first level past the limit, so the work stays linear.

use std::mem::MaybeUninit;

/// How deep YAML collections may nest in a rule document; `serde_yaml`
/// refuses deeper ones anyway.
pub const MAX_YAML_DEPTH: usize = 128;

/// The line (1-based, within `doc`) where collections first nest deeper
/// than `limit`, if they do. Syntax errors end the scan early; `serde_yaml`
/// reports them.
pub fn too_deep(doc: &str, limit: usize) -> Option<usize> {
    // Every collection starts at one of these characters (`[`, `{`, a
    // block entry `-`, a key `?` or `:`), so fewer of them than the limit
    // cannot nest past it and need no scan.
    let openers = doc
        .bytes()
        .filter(|b| matches!(b, b'[' | b'{' | b'-' | b'?' | b':'))
        .count();
    if openers <= limit {
        return None;
    }
    scan(doc, limit)
}

fn scan(doc: &str, limit: usize) -> Option<usize> {
    // The parser keeps a pointer to itself once it has input, so it lives
    // on the heap and never moves.
    let mut parser: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>> =
        Box::new(MaybeUninit::uninit());
    let p = parser.as_mut_ptr();
    // SAFETY: `p` points to memory for a parser that `yaml_parser_initialize`
    // initialises; the input outlives the parser (deleted below before
    // returning); every token `yaml_parser_scan` produces is deleted once,
    // and a failed scan leaves the token zeroed with nothing to free.
    unsafe {
        if unsafe_libyaml::yaml_parser_initialize(p).fail {
            return None;
        }
        unsafe_libyaml::yaml_parser_set_encoding(p, unsafe_libyaml::YAML_UTF8_ENCODING);
        unsafe_libyaml::yaml_parser_set_input_string(p, doc.as_ptr(), doc.len() as u64);
        let mut depth = 0usize;
        let mut found = None;
        loop {
            let mut token = MaybeUninit::<unsafe_libyaml::yaml_token_t>::zeroed();
            let t = token.as_mut_ptr();
            if unsafe_libyaml::yaml_parser_scan(p, t).fail {
                break;
            }
            let kind = (*t).type_;
            let line = (*t).start_mark.line as usize + 1;
            unsafe_libyaml::yaml_token_delete(t);
            match kind {
                unsafe_libyaml::YAML_STREAM_END_TOKEN | unsafe_libyaml::YAML_NO_TOKEN => break,
                unsafe_libyaml::YAML_FLOW_SEQUENCE_START_TOKEN
                | unsafe_libyaml::YAML_FLOW_MAPPING_START_TOKEN
                | unsafe_libyaml::YAML_BLOCK_SEQUENCE_START_TOKEN
                | unsafe_libyaml::YAML_BLOCK_MAPPING_START_TOKEN => {
                    depth += 1;
                    if depth > limit {
                        found = Some(line);
                        break;
                    }
                }
                unsafe_libyaml::YAML_FLOW_SEQUENCE_END_TOKEN
                | unsafe_libyaml::YAML_FLOW_MAPPING_END_TOKEN
                | unsafe_libyaml::YAML_BLOCK_END_TOKEN => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        unsafe_libyaml::yaml_parser_delete(p);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_flow_and_block_nesting() {
        // The top-level mapping is one level, the brackets ten more.
        let flow = format!("a: {}1{}\n", "[".repeat(10), "]".repeat(10));
        assert_eq!(scan(&flow, 11), None);
        assert_eq!(scan(&flow, 10), Some(1));
        let block = "a:\n  b:\n    - c\n";
        assert_eq!(scan(block, 3), None);
        assert_eq!(scan(block, 2), Some(3));
    }

    #[test]
    fn deep_flow_nesting_is_found_quickly() {
        // Quadratic in libyaml if scanned to the end: minutes.
        let n = 1_000_000;
        let doc = format!("id: t\nrule:\n  kind: {}{}\n", "[".repeat(n), "]".repeat(n));
        let t = std::time::Instant::now();
        assert_eq!(too_deep(&doc, MAX_YAML_DEPTH), Some(3));
        assert!(t.elapsed().as_secs() < 10);
    }

    #[test]
    fn ordinary_rules_pass_without_a_scan() {
        let doc = "id: t\nlanguage: rust\nrule: {all: [{kind: a}, {not: {kind: b}}]}\n";
        assert_eq!(too_deep(doc, MAX_YAML_DEPTH), None);
    }

    #[test]
    fn syntax_errors_are_left_to_serde_yaml() {
        assert_eq!(scan("a: [\n  b: c\n: :", 5), None);
    }
}
