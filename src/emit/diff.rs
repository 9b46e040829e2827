//! Unified diffs that `git apply` accepts and that give exactly the files
//! `--write` gives. `similar` finds the changed lines; the hunks are printed
//! here, the way git prints them:
//!
//! * lines end at `\n` only (a lone `\r` is part of a line, as in git);
//! * a hunk's range is `start,count` with `start` the 1-based first line, or
//!   the line before the hunk when `count` is 0;
//! * a last line without a newline is followed by `\ No newline at end of file`;
//! * a path with control characters, `"` or `\` is quoted with C escapes,
//!   as git quotes it.

use super::report::Report;
use crate::plan;
use crate::results::FileResult;
use similar::{Algorithm, DiffTag};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The dry-run printer: the diff of every changed file.
pub fn print(report: &Report, color: bool, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for f in report.run.changed() {
        let d = file_diff(f);
        let d = if color { colorize(&d) } else { d };
        out.write_all(d.as_bytes())?;
    }
    Ok(())
}

/// The patch of the reported edits only: with `--changed-lines` (or
/// `--shard`), edits that were not reported stay out of it.
pub fn print_reported(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(reported_diff(report).as_bytes())
}

fn reported_diff(report: &Report) -> String {
    let (result, records) = (report.run, &report.records);
    let mut wanted: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for r in records {
        if let Some(i) = r.finding.edit {
            wanted.entry(r.file.rel.as_str()).or_default().insert(i);
        }
    }
    let mut out = String::new();
    for f in result.changed() {
        let Some(set) = wanted.get(f.rel.as_str()) else {
            continue;
        };
        let edits: Vec<plan::Edit> = f
            .edits
            .iter()
            .enumerate()
            .filter(|(i, e)| e.is_live() && set.contains(i))
            .map(|(_, e)| e.clone())
            .collect();
        if edits.is_empty() {
            continue;
        }
        let mut g = f.clone();
        if edits.len() != f.edits.iter().filter(|e| e.is_live()).count() {
            let (text, _) = plan::apply(&f.original, &edits, f.crlf);
            g.new_text = (text != f.original).then_some(text);
        }
        out.push_str(&file_diff(&g));
    }
    out
}

/// The diff of one changed file (empty when unchanged).
pub fn file_diff(f: &FileResult) -> String {
    let Some(new) = &f.new_text else {
        return String::new();
    };
    let mut out = String::new();
    let hunks = hunks(&f.original, new, 3);
    if hunks.is_empty() {
        return out;
    }
    let _ = writeln!(out, "--- {}", quote_path(&format!("a/{}", f.rel)));
    let _ = writeln!(out, "+++ {}", quote_path(&format!("b/{}", f.rel)));
    out.push_str(&hunks);
    out
}

/// The hunks (without file headers) turning `old` into `new`, with
/// `context` unchanged lines around each change.
pub fn hunks(old: &str, new: &str, context: usize) -> String {
    let a = split_lines(old);
    let b = split_lines(new);
    let script = edit_script(&a, &b);
    let mut out = String::new();
    let changed: Vec<usize> = (0..script.len())
        .filter(|&i| script[i].sign != ' ')
        .collect();
    let mut i = 0;
    while i < changed.len() {
        // A hunk: changes at most 2 * context unchanged lines apart, with
        // `context` lines around them.
        let first = changed[i];
        let mut last = first;
        while i + 1 < changed.len() && changed[i + 1] - last <= 2 * context + 1 {
            i += 1;
            last = changed[i];
        }
        i += 1;
        let lines = &script[first.saturating_sub(context)..(last + context + 1).min(script.len())];
        let old_count = lines.iter().filter(|l| l.sign != '+').count();
        let new_count = lines.iter().filter(|l| l.sign != '-').count();
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            hunk_range(lines[0].old, old_count),
            hunk_range(lines[0].new, new_count)
        );
        for l in lines {
            out.push(l.sign);
            out.push_str(l.text);
            if !l.text.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// One line of the edit script, with the old and new line indexes (0-based)
/// it sits at.
struct Line<'s> {
    sign: char,
    text: &'s str,
    old: usize,
    new: usize,
}

/// Line-by-line edit script from `similar`'s operations. Positions are
/// recounted here from the operation lengths: the index `similar` gives an
/// empty side (the new index of a pure deletion) is not always where the
/// change sits.
fn edit_script<'s>(a: &[&'s str], b: &[&'s str]) -> Vec<Line<'s>> {
    let ops = similar::capture_diff_slices(Algorithm::Myers, a, b);
    let (mut o, mut n) = (0usize, 0usize);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for op in &ops {
        let (tag, old, new) = op.as_tag_tuple();
        let (del, ins) = match tag {
            DiffTag::Equal => {
                for l in &a[old] {
                    out.push(Line {
                        sign: ' ',
                        text: l,
                        old: o,
                        new: n,
                    });
                    o += 1;
                    n += 1;
                }
                continue;
            }
            DiffTag::Delete => (old.len(), 0),
            DiffTag::Insert => (0, new.len()),
            DiffTag::Replace => (old.len(), new.len()),
        };
        for l in &a[old.start..old.start + del] {
            out.push(Line {
                sign: '-',
                text: l,
                old: o,
                new: n,
            });
            o += 1;
        }
        for l in &b[new.start..new.start + ins] {
            out.push(Line {
                sign: '+',
                text: l,
                old: o,
                new: n,
            });
            n += 1;
        }
    }
    out
}

/// `start,count` as git writes it (`count` 1 is left out); `at` is the
/// 0-based index of the hunk's first line, so for an empty range it is the
/// 1-based number of the line before.
fn hunk_range(at: usize, count: usize) -> String {
    match count {
        0 => format!("{at},0"),
        1 => format!("{}", at + 1),
        n => format!("{},{n}", at + 1),
    }
}

/// Lines with their `\n`; only `\n` ends a line.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Quotes a path the way git does when it holds characters a patch line
/// cannot carry as they are (control characters, `"`, `\`).
pub fn quote_path(path: &str) -> String {
    if !path
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return path.to_string();
    }
    let mut out = String::from("\"");
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{byte:03o}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emptied_first_line_gets_git_ranges() {
        // The case similar's own printer got wrong (`@@ -1,3 +2,2 @@`).
        let h = hunks("import os\n\nx = 1\n", "\n\nx = 1\n", 3);
        assert_eq!(h, "@@ -1,3 +1,3 @@\n-import os\n \n+\n x = 1\n");
    }

    #[test]
    fn pure_insertions_and_deletions_use_the_line_before() {
        assert_eq!(hunks("a\n", "a\nb\n", 0), "@@ -1,0 +2 @@\n+b\n");
        assert_eq!(hunks("a\nb\n", "a\n", 0), "@@ -2 +1,0 @@\n-b\n");
        assert_eq!(hunks("a\n", "", 0), "@@ -1 +0,0 @@\n-a\n");
    }

    #[test]
    fn a_lone_cr_stays_inside_its_line() {
        let h = hunks("a\rb\nc\n", "a\rB\nc\n", 3);
        assert_eq!(h, "@@ -1,2 +1,2 @@\n-a\rb\n+a\rB\n c\n");
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let h = hunks("x = 1", "x = 2", 3);
        assert_eq!(
            h,
            "@@ -1 +1 @@\n-x = 1\n\\ No newline at end of file\n+x = 2\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn odd_paths_are_quoted_like_git() {
        assert_eq!(quote_path("a/plain name.py"), "a/plain name.py");
        assert_eq!(quote_path("a/new\nline.py"), "\"a/new\\nline.py\"");
        assert_eq!(quote_path("a/q\"b\\.py"), "\"a/q\\\"b\\\\.py\"");
        assert_eq!(quote_path("a/\x01.py"), "\"a/\\001.py\"");
        assert_eq!(quote_path("a/é.py"), "a/é.py");
    }
}
