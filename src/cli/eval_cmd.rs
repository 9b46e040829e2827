//! `refactor eval`: the command around [`crate::eval`]. It resolves the
//! flags, runs each task and prints one JSON summary per task on stdout and
//! a line per task on stderr.

use super::flags::{CandidatesMode, EvalArgs};
use super::{fill_options, verify_options, EXIT_OK};
use crate::eval;
use crate::repo::find_root;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

pub fn run(args: EvalArgs) -> anyhow::Result<i32> {
    let tasks = args.task.0;
    let opts = fill_options(&args.model, false)?;
    let verify = verify_options(&args.verify)?;
    let root = find_root();
    let mut dump = match std::env::var_os(eval::SITES_ENV) {
        Some(p) if !p.is_empty() => Some(
            std::fs::File::create(&p)
                .with_context(|| format!("cannot create {}", Path::new(&p).display()))?,
        ),
        _ => None,
    };
    for task in tasks {
        let candidates = args.candidates == CandidatesMode::Auto;
        let report = eval::evaluate(
            task,
            &args.paths,
            args.limit,
            candidates,
            &opts,
            &verify,
            &root,
        )?;
        if let Some(f) = dump.as_mut() {
            for s in &report.sites {
                writeln!(f, "{}", s.to_json())?;
            }
        }
        let summary = report.summary();
        eprintln!(
            "refactor eval {}: {} sites, exact {:.3}, applied {:.3}, precision {}, ranked {}, {} forward passes, {:.1}s on {}",
            task.name(),
            report.sites.len(),
            summary["exact_match"].as_f64().unwrap_or(0.0),
            summary["applied"].as_f64().unwrap_or(0.0),
            summary["applied_precision"],
            summary["ranked"],
            summary["forward_passes"],
            summary["seconds"].as_f64().unwrap_or(0.0),
            summary["device"].as_str().unwrap_or("-"),
        );
        println!("{summary}");
    }
    Ok(EXIT_OK)
}
