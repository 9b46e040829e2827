//! Unified diffs (made with `similar`) that `git apply` accepts: paths are
//! repository-relative with `a/` and `b/` prefixes, and a missing final
//! newline is marked the way git expects.

use crate::pipeline::FileResult;
use similar::TextDiff;
use std::fmt::Write;

/// The diff of one changed file (empty when unchanged).
pub fn file_diff(f: &FileResult) -> String {
    let Some(new) = &f.new_text else {
        return String::new();
    };
    let diff = TextDiff::from_lines(f.original.as_str(), new.as_str());
    let mut out = String::new();
    let _ = write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .missing_newline_hint(true)
            .header(&format!("a/{}", f.rel), &format!("b/{}", f.rel))
    );
    out
}

/// Colors a unified diff for a terminal.
pub fn colorize(diff: &str) -> String {
    let mut out = String::with_capacity(diff.len() + 64);
    for line in diff.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let code = if body.starts_with("+++") || body.starts_with("---") {
            "1"
        } else if body.starts_with('+') {
            "32"
        } else if body.starts_with('-') {
            "31"
        } else if body.starts_with("@@") {
            "36"
        } else {
            ""
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            let _ = write!(out, "\x1b[{code}m{body}\x1b[0m{nl}");
        }
    }
    out
}
