//! `refactor eval`: measures hole filling on code that already has the answers
//! (issue 5; the definitions are in `docs/eval.md`).
//!
//! For a task (`py-return-type`, `py-param-type`, `py-kwarg-name`, `py-local-name`,
//! `rs-let-type`) it finds every site that has its answer ([`sites`]), takes the
//! answers out of the code, puts a hole at each site, and finishes the run as
//! `apply` does ([`crate::pipeline::fill_and_finalize`]: one canvas with
//! cross-file context, decoding, threshold and `regex`, then hole `kind` and
//! reparse). Each site's fill (and its best guess when not applied) is
//! compared with the removed answer. One JSON object
//! per task is printed on stdout (the last line for the last task).

pub mod baseline;
pub mod sites;

use crate::denoise::canvas::Canvas;
use crate::denoise::model::Model;
use crate::denoise::{ContextIndex, DecodeMode};
use crate::fill::{self, FillOptions};
use crate::pipeline;
use crate::plan::{self, Edit};
use crate::results::{line_col, FileResult};
use crate::rule::fix::Rendered;
use crate::rule::{load::load_one, Rule};
use crate::verify::{VerifyOptions, VerifySummary};
use crate::walk::{self, WalkOptions};
use rayon::prelude::*;
use serde_json::{json, Value};
use sites::{Site, Task};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable naming a file that receives one JSON line per site.
pub const SITES_ENV: &str = "REFACTOR_EVAL_SITES";

/// What happened at one site.
#[derive(Debug, Clone)]
pub struct SiteResult {
    pub file: String,
    pub line: usize,
    /// The removed answer (whitespace-normalised).
    pub answer: String,
    /// The model's best guess (whitespace-normalised), applied or not.
    pub guess: String,
    pub confidence: f32,
    /// Chosen among candidates (see [`crate::plan::PlannedHole::ranked`]).
    pub ranked: bool,
    /// `applied`, `unresolved` or `rejected: why`.
    pub status: String,
    pub copy_guess: String,
}

impl SiteResult {
    pub fn applied(&self) -> bool {
        self.status == "applied"
    }
    pub fn exact(&self) -> bool {
        self.guess == self.answer
    }
    pub fn to_json(&self) -> Value {
        json!({
            "file": self.file, "line": self.line, "answer": self.answer, "guess": self.guess,
            "confidence": self.confidence, "status": self.status, "exact": self.exact(),
            "copy": self.copy_guess, "ranked": self.ranked,
        })
    }
}

#[derive(Debug)]
pub struct Report {
    pub task: Task,
    pub sites: Vec<SiteResult>,
    /// Sites left out because the answer is longer than the slot.
    pub skipped: usize,
    pub files: usize,
    pub stats: crate::denoise::DecodeStats,
    pub mode: DecodeMode,
    pub tau: f32,
    /// `--threshold` (`None`: each hole kind's calibrated default).
    pub threshold: Option<f32>,
    /// What `--verify` did (`None`: off).
    pub verify: Option<VerifySummary>,
    pub wall_seconds: f64,
}

fn share(n: usize, d: usize) -> Value {
    if d == 0 {
        Value::Null
    } else {
        json!(((n as f64 / d as f64) * 10000.0).round() / 10000.0)
    }
}

impl Report {
    /// The task's JSON summary (fields in `docs/eval.md`).
    pub fn summary(&self) -> Value {
        let n = self.sites.len();
        let exact = self.sites.iter().filter(|s| s.exact()).count();
        let applied = self.sites.iter().filter(|s| s.applied()).count();
        let applied_ok = self
            .sites
            .iter()
            .filter(|s| s.applied() && s.exact())
            .count();
        let rejected = self
            .sites
            .iter()
            .filter(|s| s.status.starts_with("rejected"))
            .count();
        let rejected_type_check = self
            .sites
            .iter()
            .filter(|s| s.status.starts_with("rejected: type check"))
            .count();
        let mf = baseline::most_common(self.sites.iter().map(|s| s.answer.clone()));
        let mf_hits = mf
            .as_ref()
            .map_or(0, |a| self.sites.iter().filter(|s| &s.answer == a).count());
        let copy_hits = self
            .sites
            .iter()
            .filter(|s| s.copy_guess == s.answer)
            .count();
        let st = &self.stats;
        json!({
            "task": self.task.name(),
            "sites": n,
            "exact_match": share(exact, n),
            "applied": share(applied, n),
            "applied_precision": share(applied_ok, applied),
            "applied_exact": share(applied_ok, n),
            "ranked": share(st.ranked_slots, n),
            "candidate_rows": st.candidate_rows,
            "rejected": share(rejected, n),
            "verify": self.verify.as_ref().map(|v| v.checkers.join(",")),
            "rejected_type_check": self.verify.as_ref().map(|_| share(rejected_type_check, n)),
            "verify_seconds": self.verify.as_ref().map(|v| (v.seconds * 1000.0).round() / 1000.0),
            "baseline_most_frequent": share(mf_hits, n),
            "most_frequent_answer": mf,
            "baseline_copy": share(copy_hits, n),
            "decode": match self.mode { DecodeMode::Parallel => "parallel", DecodeMode::Sequential => "sequential", DecodeMode::Prefix => "prefix" },
            "tau": (f64::from(self.tau) * 1000.0).round() / 1000.0,
            "threshold": self.threshold.map(|t| (f64::from(t) * 1000.0).round() / 1000.0),
            "forward_passes": st.forward_passes,
            "steps": st.steps,
            "tokens_committed": st.tokens_committed,
            "tokens_per_pass": if st.forward_passes == 0 { 0.0 } else {
                ((st.tokens_committed as f64 / st.forward_passes as f64) * 100.0).round() / 100.0 },
            "tokens_per_slot_step": if st.steps == 0 || st.slots == 0 { 0.0 } else {
                ((st.tokens_committed as f64 / (st.slots as f64 * st.steps as f64)) * 1000.0).round() / 1000.0 },
            "rows": st.rows,
            "seconds": (st.seconds * 1000.0).round() / 1000.0,
            "ms_per_site": if n == 0 { 0.0 } else { (st.seconds * 1e6 / n as f64).round() / 1000.0 },
            "engine_seconds": (st.engine_seconds * 1000.0).round() / 1000.0,
            "row_passes": st.row_passes,
            "row_passes_per_slot": if st.slots == 0 { 0.0 } else {
                ((st.row_passes as f64 / st.slots as f64) * 1000.0).round() / 1000.0 },
            "padding_share": if st.tokens_run == 0 { 0.0 } else {
                ((1.0 - st.tokens_content as f64 / st.tokens_run as f64) * 1000.0).round() / 1000.0 },
            "padding_share_full_rows": if st.row_passes == 0 || st.tokens_content == 0 { 0.0 } else {
                ((1.0 - st.tokens_content as f64 / (st.row_passes * st.seq_len) as f64) * 1000.0).round() / 1000.0 },
            "wall_seconds": (self.wall_seconds * 1000.0).round() / 1000.0,
            "device": st.engine,
            "files": self.files,
            "skipped_too_long": self.skipped,
        })
    }
}

/// Collapses whitespace runs to one space and trims (answers may span lines).
pub fn normalize(s: &str) -> String {
    crate::candidates::collapse(s)
}

/// Runs one task over `paths` (at most `limit` sites, 0 for all, in path order).
/// `candidates` false evaluates free decoding only (the hole declared with
/// `candidates: off`).
pub fn evaluate(
    task: Task,
    paths: &[PathBuf],
    limit: usize,
    candidates: bool,
    opts: &FillOptions,
    verify: &VerifyOptions,
    root: &Path,
) -> anyhow::Result<Report> {
    let start = Instant::now();
    let yaml = if candidates {
        task.rule_yaml().to_string()
    } else {
        task.rule_yaml()
            .replace(": {max_tokens:", ": {candidates: off, max_tokens:")
    };
    let rule = load_one(Path::new(task.name()), 1, &yaml).map_err(|e| anyhow::anyhow!("{e}"))?;
    let max_tokens = rule.holes[task.hole_name()].decl.max_tokens;
    let rules: Vec<Rule> = vec![rule];
    let model = Model::load(&opts.model)?;
    let files = walk_files(task, paths, root)?;
    let (chosen, skipped) = choose_sites(task, &files, limit, max_tokens, &model)?;
    let mut results = stripped(task, &files, &chosen);
    let copies = copy_guesses(&results, &rules, &model)?;
    drop(model);
    // The same fill and validate stages as `apply`.
    let (summary, verified) = pipeline::fill_and_finalize(&mut results, &rules, opts, verify)?;
    let sites = score(&files, &results, &chosen, copies);
    Ok(Report {
        task,
        sites,
        skipped,
        files: results.len(),
        stats: summary.map(|s| s.stats).unwrap_or_default(),
        mode: opts.decode.mode,
        tau: opts.decode.threshold,
        threshold: opts.threshold,
        verify: verified,
        wall_seconds: start.elapsed().as_secs_f64(),
    })
}

/// The task's source files under `paths`, with repository-relative paths.
fn walk_files(
    task: Task,
    paths: &[PathBuf],
    root: &Path,
) -> anyhow::Result<Vec<(walk::SourceFile, String)>> {
    let walked = walk::walk_loaded(paths, &[task.lang()], &WalkOptions::default())?;
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    Ok(walked
        .files
        .into_iter()
        .map(|f| {
            let rel = pipeline::relative_to(&root, &f.path);
            (f, rel)
        })
        .collect())
}

/// Sites per file, in path then text order, up to `limit` (0: all); an
/// answer that is empty or longer than the hole's slot is skipped (counted).
fn choose_sites(
    task: Task,
    files: &[(walk::SourceFile, String)],
    limit: usize,
    max_tokens: usize,
    model: &Model,
) -> anyhow::Result<(Vec<Vec<Site>>, usize)> {
    let defined: HashSet<String> = if task == Task::PyKwargName {
        files
            .iter()
            .flat_map(|(f, rel)| crate::denoise::context::headers(Path::new(rel), &f.text))
            .map(|(name, _)| name)
            .collect()
    } else {
        HashSet::new()
    };
    let found: Vec<Vec<Site>> = files
        .par_iter()
        .map(|(f, _)| {
            let tree = f.lang.parse(&f.text);
            sites::find_sites(task, &tree, &f.text, &defined)
        })
        .collect();
    let mut skipped = 0;
    let mut taken = 0;
    let mut chosen: Vec<Vec<Site>> = Vec::with_capacity(files.len());
    for ((f, _), list) in files.iter().zip(found) {
        let mut keep = Vec::new();
        for s in list {
            if limit > 0 && taken >= limit {
                break;
            }
            let ans = normalize(&f.text[s.answer.clone()]);
            let toks = model
                .tokenizer
                .encode(ans.as_str(), false)
                .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?
                .len();
            if ans.is_empty() || toks > max_tokens {
                skipped += 1;
                continue;
            }
            keep.push(s);
            taken += 1;
        }
        chosen.push(keep);
    }
    Ok((chosen, skipped))
}

/// The code without the answers, with one hole edit per chosen site.
fn stripped(
    task: Task,
    files: &[(walk::SourceFile, String)],
    chosen: &[Vec<Site>],
) -> Vec<FileResult> {
    let mut results: Vec<FileResult> = Vec::with_capacity(files.len());
    for ((f, rel), list) in files.iter().zip(chosen) {
        let refs: Vec<&Site> = list.iter().collect();
        let (text, map) = sites::strip(&f.text, &refs);
        let mut edits = Vec::with_capacity(list.len());
        for s in list {
            let (range, prefix) = match &s.strip {
                Some(cut) => (map(cut.start)..map(cut.start), s.prefix),
                None => (map(s.answer.start)..map(s.answer.end), ""),
            };
            let rendered = Rendered {
                text: prefix.to_string(),
                holes: vec![(task.hole_name().to_string(), prefix.len())],
            };
            edits.push(Edit::new(0, range, rendered, &[]));
        }
        results.push(FileResult {
            path: f.path.clone(),
            rel: rel.clone(),
            lang: f.lang,
            crlf: plan::is_crlf(&text),
            original: text,
            new_text: None,
            edits,
            findings: Vec::new(),
            rejected: None,
            original_errors: None,
            line_starts: Default::default(),
        });
    }
    results
}

/// Each site's fill (or best guess) against its removed answer.
fn score(
    files: &[(walk::SourceFile, String)],
    results: &[FileResult],
    chosen: &[Vec<Site>],
    copies: Vec<String>,
) -> Vec<SiteResult> {
    let mut out = Vec::new();
    let mut copy_iter = copies.into_iter();
    for ((f, _), (r, list)) in files.iter().zip(results.iter().zip(chosen)) {
        for (s, e) in list.iter().zip(&r.edits) {
            let h = &e.holes[0];
            out.push(SiteResult {
                file: r.rel.clone(),
                line: line_col(&f.text, s.answer.start).0,
                answer: normalize(&f.text[s.answer.clone()]),
                guess: normalize(h.guess.as_deref().unwrap_or("")),
                confidence: h.confidence.unwrap_or(0.0),
                ranked: h.ranked,
                status: h.status(e).to_string(),
                copy_guess: copy_iter.next().unwrap_or_default(),
            });
        }
    }
    out
}

/// The copy baseline for every site, in file then edit order: the canvas is laid out
/// as `fill_holes` lays it out, and each site's row (window and context) is the text
/// the baseline may copy from.
fn copy_guesses(
    results: &[FileResult],
    rules: &[Rule],
    model: &Model,
) -> anyhow::Result<Vec<String>> {
    let ctx = ContextIndex::build(
        results
            .iter()
            .map(|f| (PathBuf::from(&f.rel), f.original.clone())),
    );
    let mut files = Vec::new();
    for f in results.iter().filter(|f| !f.edits.is_empty()) {
        files.push(fill::file_holes(f, rules).0);
    }
    let canvas = Canvas::build(&files, &ctx, model)?;
    let mut row_text: Vec<Option<String>> = vec![None; canvas.rows.len()];
    let mut out = Vec::new();
    for (fi, fh) in files.iter().enumerate() {
        for (hi, h) in fh.holes.iter().enumerate() {
            let slot = &canvas.slots[canvas.slot_of[fi][hi]];
            let r = slot.owner.row;
            if row_text[r].is_none() {
                let row = &canvas.rows[r];
                let ids: Vec<u32> = row
                    .ids
                    .iter()
                    .zip(&row.mask)
                    .filter(|(_, &m)| m == 1)
                    .map(|(&t, _)| t as u32)
                    .collect();
                let text = model
                    .tokenizer
                    .decode(&ids, true)
                    .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?;
                row_text[r] = Some(text);
            }
            let t = &fh.text;
            let lo = t[..h.offset].rfind('\n').map_or(0, |i| i + 1);
            let hi_end = t[h.offset..].find('\n').map_or(t.len(), |i| h.offset + i);
            let line = format!("{} {}", &t[lo..h.offset], &t[h.offset..hi_end]);
            out.push(normalize(&baseline::copy_guess(
                row_text[r].as_deref().unwrap_or(""),
                &line,
            )));
        }
    }
    Ok(out)
}
