//! `refactor apply`: dry-run diff (default), `--write`, or `--commit`; with
//! `--interactive`, the edits accepted in a review are written or committed.

use super::flags::ApplyArgs;
use super::{active_rules, run_options, use_color, EXIT_OK};
use crate::emit::report::Report;
use crate::emit::review::{self, End};
use crate::emit::write::{self, resolve_targets, Target};
use crate::emit::{commit, diff, interrupt, json, lock, summary, text};
use crate::pipeline;
use crate::plan::EditStatus;
use crate::repo::{find_root_for, open_repo};
use crate::results::FileResult;
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub fn run(args: ApplyArgs) -> anyhow::Result<i32> {
    if args.interactive {
        require_terminal()?;
    }
    let (rules, project) = active_rules(&args.common)?;
    let root = find_root_for(&args.common.paths);
    let writing = args.write || args.commit || args.interactive;
    // Held from before the files are read until after they are written, so
    // two writing runs on one tree never lose each other's edits.
    let _lock = match writing {
        true => Some(lock::acquire(&root, !args.no_wait, args.common.quiet)?),
        false => None,
    };
    let opts = run_options(&args.common, root.clone(), project.as_ref())?;
    if !writing && !args.json && pipeline::streams(&rules, &opts) {
        return print_as_it_goes(&args, &rules, &opts);
    }
    let mut result = pipeline::run(&rules, &opts)?;
    if args.interactive {
        interactive_review(&args, &mut result, &rules, &root)?;
    }
    let output_started = std::time::Instant::now();
    let changed: Vec<&FileResult> = result.changed().collect();
    let mut stdout = std::io::stdout().lock();

    let report = Report::new(&result, &rules);
    if args.json {
        json::print(&report, &mut stdout)?;
    }
    if writing {
        let targets = resolve_targets(&changed, &root)?;
        let repo = match args.commit && !targets.is_empty() {
            true => {
                let repo = open_repo(&root)?;
                commit::preflight(&repo, &targets, args.allow_dirty)?;
                Some(repo)
            }
            false => None,
        };
        let mut dirs = folders(&result, &targets);
        if let Ok(r) = git2::Repository::discover(&root) {
            dirs.insert(r.path().to_path_buf());
        }
        write::remove_stale_temporaries(dirs);
        // From the first write on, Ctrl-C and SIGTERM restore instead of killing.
        interrupt::install();
        match repo {
            Some(repo) => {
                let ids: Vec<String> = used_rules(&changed, &rules);
                let opts = commit::CommitOptions {
                    no_verify: args.no_verify,
                    quiet: args.common.quiet,
                };
                let oid = commit::write_and_commit(&repo, &targets, &ids, opts)?;
                if !args.common.quiet {
                    eprintln!("refactor: committed {} file(s) as {}", targets.len(), oid);
                }
            }
            None => {
                write::write_all(&targets)?;
            }
        }
        if interrupt::pending().is_some() && !args.common.quiet {
            eprintln!("refactor: a signal arrived during the last step, which was completed");
        }
    } else if !args.json {
        diff::print(&report, use_color(args.common.color), &mut stdout)?;
    }
    let output = output_started.elapsed();
    if args.common.stats {
        if args.json {
            writeln!(stdout, "{}", summary::stats_json(&result.stats, output))?;
        }
        summary::print_stats(&result.stats, output);
    }
    stdout.flush()?;
    if !args.common.quiet {
        // Low-confidence fills, never written: on stderr, so the diff on
        // stdout stays a patch and the JSON stays JSON lines.
        text::print_suggestions(&report, &mut std::io::stderr().lock())?;
    }
    summary::print(&result, args.common.quiet);
    Ok(EXIT_OK)
}

/// A dry run with nothing to fill: each batch of files is printed as a
/// patch as soon as it is done, in path order, and then dropped, so memory
/// does not grow with the number of changed files. Same output as a run
/// that holds every file (the time spent printing counts in the engine's).
fn print_as_it_goes(
    args: &ApplyArgs,
    rules: &[crate::rule::Rule],
    opts: &pipeline::RunOptions,
) -> anyhow::Result<i32> {
    let color = use_color(args.common.color);
    let quiet = args.common.quiet;
    let mut stdout = std::io::stdout().lock();
    let mut tally = summary::Tally::default();
    let result = pipeline::run_each(rules, opts, &mut |batch| {
        diff::print(&Report::new(&batch, rules), color, &mut stdout)?;
        tally.add(&batch, quiet);
        Ok(())
    })?;
    if args.common.stats {
        summary::print_stats(&result.stats, std::time::Duration::ZERO);
    }
    stdout.flush()?;
    tally.print(&result, quiet);
    Ok(EXIT_OK)
}

/// `--interactive` talks to the user: stdin and stdout must be a terminal.
fn require_terminal() -> anyhow::Result<()> {
    let stdin = std::io::stdin().is_terminal();
    let stdout = std::io::stdout().is_terminal();
    let which = match (stdin, stdout) {
        (true, true) => return Ok(()),
        (false, false) => "neither stdin nor stdout is a terminal",
        (false, true) => "stdin is not a terminal",
        (true, false) => "stdout is not a terminal",
    };
    anyhow::bail!(
        "--interactive needs a terminal, but {which}; nothing was written \
         (without --interactive, apply prints the diff; --write applies every edit)"
    )
}

/// Asks about every edit of `result` and leaves in it only what was
/// accepted (see `emit::review`); the caller then writes (or commits) the
/// changed files as `--write` (`--commit`) does. Ctrl-C during the review
/// stops the run with nothing written.
fn interactive_review(
    args: &ApplyArgs,
    result: &mut pipeline::RunResult,
    rules: &[crate::rule::Rule],
    root: &Path,
) -> anyhow::Result<()> {
    if args.commit {
        // Refuse dirty files (or a repository mid-merge) before the user
        // spends time on their edits, not after.
        let offered: Vec<&FileResult> = result
            .files
            .iter()
            .filter(|f| {
                f.edits
                    .iter()
                    .any(|e| matches!(e.status, EditStatus::Applied | EditStatus::Unresolved))
            })
            .collect();
        let targets = resolve_targets(&offered, root)?;
        if !targets.is_empty() {
            commit::preflight(&open_repo(root)?, &targets, args.allow_dirty)?;
        }
    }
    let mut stdout = std::io::stdout();
    let color = use_color(args.common.color);
    let mut tty = review::Tty::new();
    let outcome = review::review(&mut result.files, rules, &mut tty, &mut stdout, color)?;
    if outcome.end == End::Aborted {
        return Err(interrupt::Interrupted {
            signal: 2,
            note: String::new(),
        }
        .into());
    }
    if !args.common.quiet {
        let mut line = format!(
            "refactor: review: {} of {} edit(s) accepted",
            outcome.accepted, outcome.offered
        );
        if outcome.suggestions > 0 {
            line.push_str(&format!(
                " ({} low-confidence suggestion(s))",
                outcome.suggestions
            ));
        }
        if outcome.unseen_suggestions > 0 {
            line.push_str(&format!(
                "; {} suggestion(s) left out by a/A",
                outcome.unseen_suggestions
            ));
        }
        if outcome.end == End::Quit {
            line.push_str("; stopped with q");
        }
        eprintln!("{line}");
    }
    Ok(())
}

/// Ids of the rules whose edits landed in these files.
pub fn used_rules(files: &[&FileResult], rules: &[crate::rule::Rule]) -> Vec<String> {
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

/// The folders a writing run cleans of stale temporaries: those of every
/// walked file and of every file it writes.
fn folders(result: &pipeline::RunResult, targets: &[Target]) -> BTreeSet<PathBuf> {
    let written = targets
        .iter()
        .filter_map(|t| t.real.parent().map(Path::to_path_buf));
    result
        .walked_dirs
        .iter()
        .cloned()
        .chain(written)
        .filter_map(|dir| {
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir).ok()
        })
        .collect()
}
