//! The text printer (`check`'s default): one `file:line:col: severity[rule]:
//! message` line per finding, followed by the hunk its edit alone would make
//! and a `file:line:col: suggestion[rule]: hole NAME suggested (0.46): -> FILL`
//! line per low-confidence suggestion (never applied), and a
//! `file:line:col: rejected[rule]: hole NAME fill -> FILL rejected: type
//! check: …` line per fill `--verify` dropped. `apply` prints the same
//! suggestion and rejection lines on stderr ([`print_suggestions`]).

use super::diff;
use super::report::{hole_rejection_lines, render_replacement, suggestion_lines, Report};
use crate::plan;
use crate::results::FileResult;
use std::io::Write;

/// Prints every record; `color` colors the hunks.
pub fn print(report: &Report, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    for r in &report.records {
        writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            r.file.rel,
            r.start.0,
            r.start.1 + 1,
            r.severity().name(),
            r.rule.id,
            r.message()
        )?;
        if let Some(e) = r.edit {
            let d = edit_diff(r.file, e);
            let d = if color { diff::colorize(&d) } else { d };
            for line in d.lines() {
                writeln!(out, "    {line}")?;
            }
        }
        for line in suggestion_lines(std::slice::from_ref(r)) {
            writeln!(out, "{line}")?;
        }
        for line in hole_rejection_lines(std::slice::from_ref(r)) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The suggestion and type-check rejection lines alone (`apply` prints them
/// on stderr, so the diff on stdout stays a patch).
pub fn print_suggestions(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for line in suggestion_lines(&report.records) {
        writeln!(out, "{line}")?;
    }
    for line in hole_rejection_lines(&report.records) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The diff one edit alone would make (shown under its finding).
fn edit_diff(f: &FileResult, e: &plan::Edit) -> String {
    let mut single = e.clone();
    if !single.holes.iter().all(|h| h.fill.is_some()) {
        // Show unresolved holes as `$?NAME`.
        single.replacement = render_replacement(e);
        single.holes.clear();
    }
    single.status = plan::EditStatus::Applied;
    let (text, _) = plan::apply(&f.original, std::slice::from_ref(&single), f.crlf);
    // Hunks only: the finding line already names the file.
    diff::hunks(&f.original, &text, 1)
}
