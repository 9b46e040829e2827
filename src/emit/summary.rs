//! The summary printer: notes about skipped and rejected files, warnings
//! about deleted comments, and the one-line count of what the run did, on
//! stderr (silenced by `--quiet`); and `--stats`, where the time went.

use crate::pipeline::{RunResult, Stats};
use crate::plan::EditStatus;
use std::time::Duration;

/// Notes about skipped and rejected files, and the one-line summary.
pub fn print(run: &RunResult, quiet: bool) {
    let mut tally = Tally::default();
    tally.add(run, quiet);
    tally.print(run, quiet);
}

/// What a run did to its files, added up over the batches a streaming run
/// hands over ([`crate::pipeline::run_each`]); each batch's notes and
/// warnings are printed as it is added.
#[derive(Debug, Default)]
pub struct Tally {
    matched: usize,
    changed: usize,
    skipped: usize,
    rejected: usize,
    overlaps: usize,
    unresolved: usize,
}

impl Tally {
    /// Counts `run`'s files and prints their notes and warnings.
    pub fn add(&mut self, run: &RunResult, quiet: bool) {
        self.skipped += run.skipped.len();
        for f in &run.files {
            if !f.findings.is_empty() {
                self.matched += 1;
            }
            if f.new_text.is_some() {
                self.changed += 1;
            }
            if f.rejected.is_some() {
                self.rejected += 1;
            }
            for e in &f.edits {
                match &e.status {
                    EditStatus::Overlap { .. } => self.overlaps += 1,
                    EditStatus::Unresolved => self.unresolved += 1,
                    _ => {}
                }
            }
        }
        if !quiet {
            print_notes(run);
        }
    }

    /// The one-line summary (`run` gives the files scanned, and the fill
    /// and type-check summaries).
    pub fn print(&self, run: &RunResult, quiet: bool) {
        if quiet {
            return;
        }
        let Tally {
            matched,
            changed,
            skipped,
            rejected,
            overlaps,
            unresolved,
        } = *self;
        let mut line = format!(
            "refactor: {} files scanned, {} matched, {} changed, {} skipped, {} rejected",
            run.scanned, matched, changed, skipped, rejected
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
        if let Some(v) = &run.verify {
            for (file, why) in &v.unchecked {
                eprintln!("note: --verify: {file} not type-checked: {why}");
            }
            line.push_str(&format!(
                "; type check ({}): {} fill(s) in {} file(s) checked, {} dropped, {:.2}s",
                v.checkers.join(", "),
                v.fills,
                v.files,
                v.dropped,
                v.seconds
            ));
        }
        eprintln!("{line}");
    }
}

/// A note for each skipped file, and warnings for rejected files and for
/// comments a written fix deletes.
fn print_notes(run: &RunResult) {
    for s in &run.skipped {
        eprintln!("note: skipped {}: {}", s.path.display(), s.reason);
    }
    for f in &run.files {
        if let Some(why) = &f.rejected {
            eprintln!("warning: {}: {why}", f.rel);
        }
        if f.new_text.is_none() {
            continue;
        }
        for e in f.edits.iter().filter(|e| e.is_live()) {
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
    }
}

/// `--stats`: where the run's time went, on stderr. `output` is the time the
/// command spent printing, writing or committing after the engine ran.
pub fn print_stats(stats: &Stats, output: Duration) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "stats: {:.0} ms in all; walk {:.0} ms; read {:.0} ms, parse {:.0} ms, match {:.0} ms, \
         validate {:.0} ms (CPU, summed over threads); fill {:.0} ms; verify {:.0} ms; output {:.0} ms",
        ms(stats.total + output),
        ms(stats.walk),
        ms(stats.read),
        ms(stats.parse),
        ms(stats.matching),
        ms(stats.validate),
        ms(stats.fill),
        ms(stats.verify),
        ms(output),
    );
    if stats.prefilter {
        eprintln!(
            "stats: {} files, {:.1} MB read; prefilter: {} of {} files skipped ({:.1} MB not parsed)",
            stats.files,
            mb(stats.bytes),
            stats.prefilter_skipped_files,
            stats.files,
            mb(stats.prefilter_skipped_bytes),
        );
        eprintln!(
            "stats: partial parse: {} files settled with only their matching parts \
             ({:.1} MB not parsed); {} files matched from their partial parse; {} files \
             parsed whole after a partial match or syntax error",
            stats.items_files,
            mb(stats.items_skipped_bytes),
            stats.items_reused,
            stats.items_reparsed,
        );
    } else {
        eprintln!(
            "stats: {} files, {:.1} MB read; prefilter: off",
            stats.files,
            mb(stats.bytes)
        );
    }
}

/// The same facts as one JSON object (the last line of a JSON report).
pub fn stats_json(stats: &Stats, output: Duration) -> serde_json::Value {
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    serde_json::json!({"stats": {
        "total_ms": ms(stats.total + output),
        "walk_ms": ms(stats.walk),
        "read_ms": ms(stats.read),
        "parse_ms": ms(stats.parse),
        "match_ms": ms(stats.matching),
        "fill_ms": ms(stats.fill),
        "validate_ms": ms(stats.validate),
        "verify_ms": ms(stats.verify),
        "output_ms": ms(output),
        "files": stats.files,
        "bytes": stats.bytes,
        "prefilter": stats.prefilter,
        "prefilter_skipped_files": stats.prefilter_skipped_files,
        "prefilter_skipped_bytes": stats.prefilter_skipped_bytes,
        "partial_parse_files": stats.items_files,
        "partial_parse_skipped_bytes": stats.items_skipped_bytes,
        "partial_parse_reparsed_files": stats.items_reparsed,
        "partial_parse_matched_files": stats.items_reused,
    }})
}
