//! The engine shared by `apply`, `check` and `eval`: walk → parse and match
//! → plan → fill holes → validate. Emitting (diffs, writes, commits, reports)
//! is the caller's job, so every command sees the same results.
//!
//! Invariant: a file's `new_text` is either `None` (unchanged) or text that
//! parses with no more error nodes than the original.

use crate::fill::{self, FillOptions, FillSummary};
use crate::lang::{count_errors, Lang};
use crate::plan::{self, Edit, EditStatus, RejectReason};
use crate::results::{line_col, FileResult, Finding};
use crate::rule::Rule;
use crate::walk::{self, Skipped, SourceFile, WalkOptions};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct RunResult {
    pub files: Vec<FileResult>,
    pub skipped: Vec<Skipped>,
    pub scanned: usize,
    pub fill: Option<FillSummary>,
}

impl RunResult {
    pub fn changed(&self) -> impl Iterator<Item = &FileResult> {
        self.files.iter().filter(|f| f.new_text.is_some())
    }
}

pub struct RunOptions {
    pub paths: Vec<PathBuf>,
    pub walk: WalkOptions,
    pub fill: FillOptions,
    /// Repository root (diff paths are relative to it).
    pub root: PathBuf,
    /// Restrict to these repository-relative paths (diff-aware `check`).
    pub only: Option<Vec<String>>,
    /// Keep only files whose path hashes to this shard `(index, count)`.
    pub shard: Option<(u64, u64)>,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Repository-relative `/`-separated path.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let rel = match abs.strip_prefix(root) {
        Ok(r) => r.to_path_buf(),
        // Outside the repository: keep the path as the user gave it.
        Err(_) => path.strip_prefix("./").unwrap_or(path).to_path_buf(),
    };
    let text = rel.to_string_lossy().replace('\\', "/");
    text.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

/// FNV-1a: a stable hash for sharding (the same on every machine and run).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Runs the whole engine.
pub fn run(rules: &[Rule], opts: &RunOptions) -> anyhow::Result<RunResult> {
    let mut langs: Vec<Lang> = rules.iter().map(|r| r.lang).collect();
    langs.sort();
    langs.dedup();
    let walked = walk::walk(&opts.paths, &langs, &opts.walk)?;
    let rule_ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());

    let files: Vec<(SourceFile, String)> = walked
        .files
        .into_iter()
        .map(|f| {
            let rel = relative_to(&root, &f.path);
            (f, rel)
        })
        .filter(|(_, rel)| {
            opts.only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| o == rel))
        })
        .filter(|(_, rel)| opts.shard.is_none_or(|(i, n)| stable_hash(rel) % n == i))
        .collect();
    let scanned = files.len();

    let bar = if opts.progress && scanned >= 200 {
        let pb = indicatif::ProgressBar::new(scanned as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let mut results: Vec<FileResult> = files
        .par_iter()
        .map(|(f, rel)| {
            let r = scan_file(f, rel, rules, &rule_ids);
            if let Some(b) = &bar {
                b.inc(1);
            }
            r
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }

    let fill_summary = fill_and_finalize(&mut results, rules, &opts.fill)?;
    Ok(RunResult {
        files: results,
        skipped: walked.skipped,
        scanned,
        fill: fill_summary,
    })
}

/// Stages 4 and 5 for planned files: every live hole of every file goes
/// through one canvas (only when there are holes, so rules without holes
/// never load a model), then each file is rebuilt and reparsed. `apply`,
/// `check` and `eval` all finish a run here.
pub fn fill_and_finalize(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &FillOptions,
) -> anyhow::Result<Option<FillSummary>> {
    let has_holes = results
        .iter()
        .any(|f| f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty()));
    let summary = if has_holes {
        Some(fill::fill_holes(results, rules, opts)?)
    } else {
        None
    };
    results.par_iter_mut().for_each(|f| finalize(f, rules));
    Ok(summary)
}

/// Stage 2 + 3 for one file: parse, match every rule, plan edits.
pub fn scan_file(f: &SourceFile, rel: &str, rules: &[Rule], rule_ids: &[String]) -> FileResult {
    let tree = f.lang.parse(&f.text);
    let root = tree.root_node();
    let crlf = plan::is_crlf(&f.text);
    let mut edits = Vec::new();
    let mut findings = Vec::new();
    // One pre-order traversal of the file serves every rule (each rule's
    // matches stay in pre-order, as with a traversal per rule).
    let active: Vec<usize> = (0..rules.len())
        .filter(|&ri| rules[ri].lang == f.lang && rules[ri].applies_to(Path::new(rel)))
        .collect();
    let mut per_rule: Vec<Vec<crate::rule::RuleMatch>> =
        active.iter().map(|_| Vec::new()).collect();
    if !active.is_empty() {
        let file = crate::matcher::FileCtx::new(root);
        crate::matcher::preorder(root, |node| {
            for (slot, &ri) in active.iter().enumerate() {
                if let Some(m) = rules[ri].match_at(node, &f.text, &file) {
                    per_rule[slot].push(m);
                }
            }
        });
    }
    for (slot, matches) in per_rule.into_iter().enumerate() {
        let ri = active[slot];
        for m in matches {
            let edit = m.replacement.map(|rendered| {
                let ties: Vec<(String, String)> = m.ties.into_iter().collect();
                let mut edit = Edit::new(ri, m.range.clone(), rendered, &ties);
                edit.dropped_comments = m.dropped_comments;
                edits.push(edit);
                edits.len() - 1
            });
            findings.push(Finding {
                rule: ri,
                range: m.range,
                node_range: m.node.byte_range(),
                edit,
            });
        }
    }
    // Overlap resolution reorders edits: keep findings pointing at theirs.
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| plan::position_key(&edits[i].range, edits[i].rule));
    let mut new_index = vec![0; edits.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut sorted: Vec<Edit> = order.iter().map(|&i| edits[i].clone()).collect();
    plan::resolve_overlaps(&mut sorted, rule_ids, |off| line_col(&f.text, off).0);
    for fd in &mut findings {
        fd.edit = fd.edit.map(|i| new_index[i]);
    }
    FileResult {
        path: f.path.clone(),
        rel: rel.to_string(),
        lang: f.lang,
        original: f.text.clone(),
        new_text: None,
        edits: sorted,
        findings,
        rejected: None,
        crlf,
    }
}

/// Stage 5: build the new text and make sure it still parses. A hole edit
/// that breaks the file is dropped first; if the file still breaks, the
/// whole file is left unchanged and reported.
pub fn finalize(f: &mut FileResult, rules: &[Rule]) {
    if !f.edits.iter().any(|e| e.is_live()) {
        return;
    }
    let before = count_errors(&f.lang.parse(&f.original));
    let (text, placed) = plan::apply(&f.original, &f.edits, f.crlf);
    let tree = f.lang.parse(&text);
    let mut ok = count_errors(&tree) <= before;
    // Holes with a `kind` must parse as that kind in place.
    if ok {
        let mut bad_kind = Vec::new();
        for p in &placed {
            let e = &f.edits[p.edit];
            let h = &e.holes[p.hole];
            if let Some(kind) = rules[e.rule].holes.get(&h.name).and_then(|x| x.kind_id) {
                if !crate::validate::has_node_of_kind(&tree, p.range.clone(), kind) {
                    bad_kind.push(p.edit);
                }
            }
        }
        if !bad_kind.is_empty() {
            for i in bad_kind {
                f.edits[i].status = EditStatus::Rejected(RejectReason::FillKind);
            }
            return finalize(f, rules);
        }
    }
    if !ok && f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty()) {
        for e in f
            .edits
            .iter_mut()
            .filter(|e| e.is_live() && !e.holes.is_empty())
        {
            e.status = EditStatus::Rejected(RejectReason::FilledFileBroken);
        }
        return finalize(f, rules);
    }
    if !ok {
        for e in f.edits.iter_mut().filter(|e| e.is_live()) {
            e.status = EditStatus::Rejected(RejectReason::FileBroken);
        }
        f.rejected = Some("the rewrite introduces parse errors; file left unchanged".into());
        ok = false;
    }
    if ok && text != f.original {
        f.new_text = Some(text);
    }
}
