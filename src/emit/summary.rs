//! The summary printer: notes about skipped and rejected files, warnings
//! about deleted comments, and the one-line count of what the run did, on
//! stderr (silenced by `--quiet`).

use crate::pipeline::RunResult;
use crate::plan::EditStatus;

/// Notes about skipped and rejected files, and the one-line summary.
pub fn print(run: &RunResult, quiet: bool) {
    if quiet {
        return;
    }
    for s in &run.skipped {
        eprintln!("note: skipped {}: {}", s.path.display(), s.reason);
    }
    let mut matched = 0;
    let mut changed = 0;
    let mut rejected = 0;
    let mut overlaps = 0;
    let mut unresolved = 0;
    for f in &run.files {
        if !f.findings.is_empty() {
            matched += 1;
        }
        if f.new_text.is_some() {
            changed += 1;
        }
        if let Some(why) = &f.rejected {
            rejected += 1;
            eprintln!("warning: {}: {why}", f.rel);
        }
        for e in &f.edits {
            if f.new_text.is_some() && e.is_live() {
                for c in &e.dropped_comments {
                    let (line, _) = f.line_col(c.start);
                    eprintln!(
                        "warning: {}:{line}: the fix deletes a comment no metavariable carries: {}",
                        f.rel,
                        f.original[c.clone()]
                            .lines()
                            .next()
                            .unwrap_or("")
                            .trim_end()
                    );
                }
            }
            match &e.status {
                EditStatus::Overlap { .. } => overlaps += 1,
                EditStatus::Unresolved => unresolved += 1,
                _ => {}
            }
        }
    }
    let mut line = format!(
        "refactor: {} files scanned, {} matched, {} changed, {} skipped, {} rejected",
        run.scanned,
        matched,
        changed,
        run.skipped.len(),
        rejected
    );
    if overlaps > 0 {
        line.push_str(&format!(", {overlaps} overlapping edits skipped"));
    }
    if let Some(fs) = &run.fill {
        line.push_str(&format!(
            "; holes: {} filled of {} ({} unresolved edits) by {} in {} forward passes, {:.2}s",
            fs.accepted,
            fs.holes,
            unresolved,
            fs.stats.engine,
            fs.stats.forward_passes,
            fs.stats.seconds
        ));
    }
    eprintln!("{line}");
}
