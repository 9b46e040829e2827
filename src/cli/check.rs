//! `refactor check`: the apply engine without writing, for CI. Diff-aware
//! (`--changed-since`, `--changed-lines`), several report formats, shards.

use super::flags::{CheckArgs, FailOn, Format};
use super::{active_rules, run_options, EXIT_FOUND, EXIT_OK};
use crate::emit::report::Report;
use crate::emit::{diff, github, json, sarif, summary, text};
use crate::pipeline;
use crate::repo::{changed_since, find_root_for};
use crate::rule::Severity;

use std::io::Write;

pub fn run(args: CheckArgs) -> anyhow::Result<i32> {
    let (rules, project) = active_rules(&args.common)?;
    let root = find_root_for(&args.common.paths);
    let mut opts = run_options(&args.common, root.clone(), project.as_ref());
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
    let output_started = std::time::Instant::now();
    let mut report = Report::new(&result, &rules);
    if let Some(lines) = &changed_lines {
        report.records.retain(|r| {
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
        Format::Json => json::print(&report, &mut out)?,
        Format::Sarif => sarif::print(&report, &mut out)?,
        Format::Github => github::print(&report, &mut out)?,
        Format::Diff => diff::print_reported(&report, &mut out)?,
        Format::Text => text::print(&report, super::use_color(args.common.color), &mut out)?,
    }
    let output = output_started.elapsed();
    if args.common.stats {
        if args.format == Format::Json {
            writeln!(out, "{}", summary::stats_json(&result.stats, output))?;
        }
        summary::print_stats(&result.stats, output);
    }
    out.flush()?;
    summary::print(&result, args.common.quiet);
    let threshold = match args.fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Hint => Some(Severity::Hint),
        FailOn::Never => None,
    };
    let failing = threshold.is_some_and(|t| report.records.iter().any(|r| r.severity() >= t));
    Ok(if failing { EXIT_FOUND } else { EXIT_OK })
}
