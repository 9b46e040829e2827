//! `refactor apply`: dry-run diff (default), `--write`, or `--commit`.

use super::flags::ApplyArgs;
use super::{find_root_for, print_summary, run_options, use_color, EXIT_OK};
use crate::emit::write::{resolve_targets, write_atomic};
use crate::emit::{commit, diff, report};
use crate::pipeline;
use crate::rule::load_rules;
use anyhow::Context;
use std::io::Write;

pub fn run(args: ApplyArgs) -> anyhow::Result<i32> {
    // `severity: off` switches a rule off, as in ast-grep.
    let rules: Vec<crate::rule::Rule> = load_rules(&args.common.rules)?
        .into_iter()
        .filter(|r| r.severity != Some(crate::rule::Severity::Off))
        .collect();
    let root = find_root_for(&args.common.paths);
    let opts = run_options(&args.common, root.clone());
    let result = pipeline::run(&rules, &opts)?;
    let changed: Vec<&pipeline::FileResult> = result.changed().collect();
    let mut stdout = std::io::stdout().lock();

    if args.json {
        let recs = report::records(&result, &rules);
        stdout.write_all(report::json_lines(&recs).as_bytes())?;
    }
    if args.commit {
        if !changed.is_empty() {
            let repo = commit::open_repo(&root)?;
            let targets = resolve_targets(&changed, &root)?;
            commit::preflight(&repo, &targets, args.allow_dirty)?;
            let ids: Vec<String> = used_rules(&changed, &rules);
            let oid = commit::write_and_commit(&repo, &targets, &ids)?;
            if !args.common.quiet {
                eprintln!("refactor: committed {} file(s) as {}", changed.len(), oid);
            }
        }
    } else if args.write {
        for t in resolve_targets(&changed, &root)? {
            write_atomic(&t.real, t.new_text())
                .with_context(|| format!("cannot write {}", t.real.display()))?;
        }
    } else if !args.json {
        let color = use_color(args.common.color);
        for f in &changed {
            let d = diff::file_diff(f);
            let d = if color { diff::colorize(&d) } else { d };
            stdout.write_all(d.as_bytes())?;
        }
    }
    stdout.flush()?;
    print_summary(&result, args.common.quiet);
    Ok(EXIT_OK)
}

/// Ids of the rules whose edits landed in these files.
pub fn used_rules(files: &[&pipeline::FileResult], rules: &[crate::rule::Rule]) -> Vec<String> {
    let mut ids: Vec<String> = files
        .iter()
        .flat_map(|f| {
            f.edits
                .iter()
                .filter(|e| e.is_live())
                .map(|e| rules[e.rule].id.clone())
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
