//! `refactor check`: the apply engine without writing, for CI. Diff-aware
//! (`--changed-since`, `--changed-lines`), several report formats, shards.

use super::flags::{CheckArgs, FailOn, Format};
use super::{print_summary, run_options, EXIT_FOUND, EXIT_OK};
use crate::emit::{diff, report, sarif};
use crate::pipeline;
use crate::plan;
use crate::repo::{changed_since, find_root_for};
use crate::results::FileResult;
use crate::rule::{load_rules, Rule, Severity};

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    // `severity: off` switches a rule off (as in ast-grep): it is not run at
    // all, so it can neither be reported nor shadow another rule's edit.
    let rules: Vec<Rule> = load_rules(&args.common.rules)?
        .into_iter()
        .filter(|r| r.severity != Some(Severity::Off))
        .collect();
    let root = find_root_for(&args.common.paths);
    let mut opts = run_options(&args.common, root.clone());
    opts.shard = args.shard;
    let mut changed_lines = None;
    if let Some(rev) = &args.changed_since {
        let changes = changed_since(&root, rev, args.changed_lines)?;
        opts.only = Some(changes.keys().cloned().collect());
        if args.changed_lines {
            changed_lines = Some(changes);
        }
    }
    let result = pipeline::run(&rules, &opts)?;
    let mut records: Vec<report::Record> = report::records(&result, &rules);
    if let Some(lines) = &changed_lines {
        records.retain(|r| {
            lines.get(&r.file.rel).is_some_and(|set| {
                let end_line = if r.end.1 == 0 && r.end.0 > r.start.0 {
                    r.end.0 - 1
                } else {
                    r.end.0
                };
                set.range(r.start.0..=end_line).next().is_some()
            })
        });
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => out.write_all(report::json_lines(&records).as_bytes())?,
        Format::Sarif => {
            let doc = sarif::sarif(&records, &rules);
            out.write_all(serde_json::to_string_pretty(&doc)?.as_bytes())?;
            out.write_all(b"\n")?;
        }
        Format::Github => {
            for r in &records {
                writeln!(out, "{}", sarif::github_command(r))?;
            }
        }
        Format::Diff => out.write_all(reported_diff(&result, &records).as_bytes())?,
        Format::Text => {
            let color = super::use_color(args.common.color);
            for r in &records {
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
            }
        }
    }
    out.flush()?;
    print_summary(&result, args.common.quiet);
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Hint => Some(Severity::Hint),
        FailOn::Never => None,
    };
    let failing = threshold.is_some_and(|t| records.iter().any(|r| r.severity() >= t));
    Ok(if failing { EXIT_FOUND } else { EXIT_OK })
}

/// The patch of the reported edits only: with `--changed-lines` (or
/// `--shard`), edits that were not reported stay out of it.
fn reported_diff(result: &pipeline::RunResult, records: &[report::Record]) -> String {
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
        out.push_str(&diff::file_diff(&g));
    }
    out
}

/// The diff one edit alone would make (shown under its finding).
fn edit_diff(f: &FileResult, e: &plan::Edit) -> String {
    let mut single = e.clone();
    if !single.holes.iter().all(|h| h.fill.is_some()) {
        // Show unresolved holes as `$?NAME`.
        single.replacement = report::render_replacement(e);
        single.holes.clear();
    }
    single.status = plan::EditStatus::Applied;
    let (text, _) = plan::apply(&f.original, std::slice::from_ref(&single), f.crlf);
    // Hunks only: the finding line already names the file.
    diff::hunks(&f.original, &text, 1)
}
