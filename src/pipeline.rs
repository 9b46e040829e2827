//! The engine shared by `apply`, `check` and `eval`: walk → parse and match
//! → plan → fill holes → validate → (with `--verify`) type-check fills. Emitting (diffs, writes, commits, reports)
//! is the caller's job, so every command sees the same results.
//!
//! Invariant: a file's `new_text` is either `None` (unchanged) or text that
//! parses with no more error nodes than the original.

use crate::candidates::{self, DefIndex};
use crate::fill::{self, FillOptions, FillSummary};
use crate::lang::{count_errors, Lang};
use crate::plan::{self, Edit, EditStatus, HoleProblem, RejectReason};
use crate::results::{line_col, slash_path, FileResult, Finding};
use crate::rule::Rule;
use crate::verify::{self, VerifyOptions, VerifySummary};
use crate::walk::{self, Skipped, SourceFile, WalkOptions};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct RunResult {
    pub files: Vec<FileResult>,
    pub skipped: Vec<Skipped>,
    pub scanned: usize,
    pub fill: Option<FillSummary>,
    /// What the type-check gate did (`--verify`; `None` when off).
    pub verify: Option<VerifySummary>,
    pub stats: Stats,
    /// The folders of every walked file (a writing run cleans them of stale
    /// temporaries); `files` holds only the files with findings.
    pub walked_dirs: BTreeSet<PathBuf>,
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
    /// `--verify`: the type checkers that gate hole fills (off by default).
    pub verify: VerifyOptions,
    /// Repository root (diff paths are relative to it).
    pub root: PathBuf,
    /// The folder rules' `files` / `ignores` globs are relative to: an
    /// ast-grep project's folder (as in ast-grep); `None`: `root`.
    pub rules_root: Option<PathBuf>,
    /// Restrict to these repository-relative paths (diff-aware `check`).
    pub only: Option<Vec<String>>,
    /// Keep only files whose path hashes to this shard `(index, count)`.
    pub shard: Option<(u64, u64)>,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Skip a rule for a file that lacks the rule's literal text (see
    /// `matcher::prefilter`); off only to check that it changes nothing.
    pub prefilter: bool,
}

/// Repository-relative `/`-separated path.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let rel = match abs.strip_prefix(root) {
        Ok(r) => r.to_path_buf(),
        // Outside the repository: keep the path as the user gave it.
        Err(_) => path.strip_prefix("./").unwrap_or(path).to_path_buf(),
    };
    // Non-UTF-8 names never get here: the walk skips them.
    let text = slash_path(&rel).unwrap_or_else(|| rel.to_string_lossy().into_owned());
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
    let started = Instant::now();
    let files = select_files(rules, opts)?;
    let walked_dirs = folders_of(&files);
    let walk_time = started.elapsed();

    let clock = StageClock::default();
    let bar = progress_bar(opts, files.len());
    let (scanned, defs) = scan_all(&files, rules, opts, &clock, bar.as_ref());
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (mut results, skipped, read_files) = sort_scanned(scanned);

    // Files without holes were validated by the scan's workers; those
    // with holes are, once filled (a fill below its threshold leaves its
    // edit unresolved, so ask before filling).
    let waiting: Vec<bool> = results.iter().map(has_hole_edits).collect();
    let t = Instant::now();
    let fill_summary = fill_holes_if_any(&mut results, rules, &opts.fill, Some(&defs))?;
    let fill_time = t.elapsed();
    results
        .par_iter_mut()
        .zip(waiting)
        .filter(|(_, waiting)| *waiting)
        .for_each(|(f, _)| {
            let t = Instant::now();
            finalize(f, rules);
            clock.add(&clock.validate, t);
        });
    let t = Instant::now();
    let verify_summary = verify_fills(&mut results, rules, &opts.verify)?;
    let verify_time = t.elapsed();
    let stats = clock.finish(StageTimes {
        walk: walk_time,
        fill: fill_time,
        verify: verify_time,
        total: started.elapsed(),
        files: read_files,
        prefilter: opts.prefilter,
    });
    Ok(RunResult {
        files: results,
        skipped,
        scanned: read_files,
        fill: fill_summary,
        verify: verify_summary,
        stats,
        walked_dirs,
    })
}

/// Whether a run can hand its files over as they are done ([`run_each`]):
/// no rule has holes (the fill stage decodes every hole of every file
/// together) and no type checker gates fills.
pub fn streams(rules: &[Rule], opts: &RunOptions) -> bool {
    !opts.verify.is_on() && rules.iter().all(|r| r.holes.is_empty())
}

/// Files scanned per batch by [`run_each`]: enough to keep both cores
/// busy, few enough that a batch's texts stay small.
const BATCH_FILES: usize = 256;

/// Runs the engine like [`run`] when the run [`streams`], handing `each`
/// the files of one batch at a time, in path order, as soon as they are
/// done (a batch's `scanned` counts its files). A run then holds the texts
/// of one batch, not of every changed file: memory no longer grows with
/// the size of the tree. Returns the run without its files (`files` and
/// `skipped` are empty; `scanned` and `stats` are the whole run's).
pub fn run_each(
    rules: &[Rule],
    opts: &RunOptions,
    each: &mut dyn FnMut(RunResult) -> anyhow::Result<()>,
) -> anyhow::Result<RunResult> {
    anyhow::ensure!(
        streams(rules, opts),
        "this run cannot hand over its files as it goes"
    );
    let started = Instant::now();
    let files = select_files(rules, opts)?;
    let walked_dirs = folders_of(&files);
    let walk_time = started.elapsed();
    let clock = StageClock::default();
    let bar = progress_bar(opts, files.len());
    let mut read_files = 0;
    for batch in files.chunks(BATCH_FILES) {
        let (scanned, _) = scan_all(batch, rules, opts, &clock, bar.as_ref());
        let (files, skipped, read) = sort_scanned(scanned);
        read_files += read;
        each(RunResult {
            files,
            skipped,
            scanned: read,
            ..RunResult::default()
        })?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let stats = clock.finish(StageTimes {
        walk: walk_time,
        fill: Duration::ZERO,
        verify: Duration::ZERO,
        total: started.elapsed(),
        files: read_files,
        prefilter: opts.prefilter,
    });
    Ok(RunResult {
        scanned: read_files,
        stats,
        walked_dirs,
        ..RunResult::default()
    })
}

/// The folders of `files` (a writing run cleans them of stale temporaries).
fn folders_of(files: &[(walk::Candidate, String)]) -> BTreeSet<PathBuf> {
    files
        .iter()
        .filter_map(|(c, _)| c.path.parent().map(Path::to_path_buf))
        .collect()
}

/// The files with findings, the skipped files and the number read.
fn sort_scanned(scanned: Vec<Scanned>) -> (Vec<FileResult>, Vec<Skipped>, usize) {
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    let mut read_files = 0;
    for r in scanned {
        match r {
            Ok(Some(f)) => {
                read_files += 1;
                results.push(f);
            }
            Ok(None) => read_files += 1,
            Err(s) => skipped.push(s),
        }
    }
    (results, skipped, read_files)
}

/// A progress bar on stderr for a run over `files` files, when asked for
/// and the run is long enough to show one.
fn progress_bar(opts: &RunOptions, files: usize) -> Option<indicatif::ProgressBar> {
    (opts.progress && files >= 200).then(|| {
        let pb = indicatif::ProgressBar::new(files as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    })
}

/// Stage 1: the files of the rules' languages under the run's paths, with
/// their repository-relative paths, narrowed to `only` and the shard.
fn select_files(
    rules: &[Rule],
    opts: &RunOptions,
) -> anyhow::Result<Vec<(walk::Candidate, String)>> {
    let mut langs: Vec<Lang> = rules.iter().map(|r| r.lang).collect();
    langs.sort();
    langs.dedup();
    let found = walk::walk(&opts.paths, &langs, &opts.walk)?;
    let root = std::fs::canonicalize(&opts.root).unwrap_or_else(|_| opts.root.clone());
    Ok(found
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
        .collect())
}

/// One walked file after the scan: its result, `Ok(None)` when it was read
/// and nothing was found, or why it was skipped.
type Scanned = Result<Option<FileResult>, Skipped>;

/// Stages 2 and 3 over every file, in parallel: read, prefilter, parse,
/// match and plan each file in one worker; only files with findings keep
/// their text past this point. When a Python rule has a hole that may rank
/// candidates, the definitions of every Python file read are indexed too
/// (the keyword candidates of stage 4).
fn scan_all(
    files: &[(walk::Candidate, String)],
    rules: &[Rule],
    opts: &RunOptions,
    clock: &StageClock,
    bar: Option<&indicatif::ProgressBar>,
) -> (Vec<Scanned>, DefIndex) {
    let want_defs = rules
        .iter()
        .any(|r| r.lang == Lang::Python && r.holes.values().any(|h| h.decl.candidates_enabled()));
    let rule_ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let rules_root = opts
        .rules_root
        .as_ref()
        .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()));
    let scanned = files
        .par_iter()
        .map(|(c, rel)| {
            let t = Instant::now();
            let loaded = walk::load(c, opts.walk.max_filesize);
            clock.add(&clock.read, t);
            let mut defs = candidates::FileDefs::default();
            let r = loaded.map(|f| {
                let glob_rel = match &rules_root {
                    Some(rr) => relative_to(rr, &f.path),
                    None => rel.clone(),
                };
                let at = ScanAt {
                    rel,
                    glob_rel: &glob_rel,
                };
                let size = f.text.len();
                let want = want_defs && f.lang == Lang::Python;
                let scan = Scan {
                    prefilter: opts.prefilter,
                    want_defs: want,
                    validate: true,
                };
                let (r, d) = scan_file_and_defs(f, at, rules, &rule_ids, scan, clock);
                defs = d;
                if size >= TRIM_AFTER_BYTES {
                    release_freed_memory();
                }
                (!r.findings.is_empty()).then_some(r)
            });
            if let Some(b) = bar {
                b.inc(1);
            }
            (r, defs)
        })
        .collect::<Vec<_>>();
    let mut index = DefIndex::default();
    let mut out = Vec::with_capacity(scanned.len());
    for (r, defs) in scanned {
        index.extend(defs);
        out.push(r);
    }
    (out, index)
}

/// Whether some live edit of `f` has holes (it is validated after the
/// fill stage).
fn has_hole_edits(f: &FileResult) -> bool {
    f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty())
}

/// Files at least this large leave a parse tree big enough to be worth
/// handing back to the system once it is dropped.
const TRIM_AFTER_BYTES: usize = 64 * 1024;

/// Gives memory freed by this thread back to the system. glibc keeps an
/// arena per worker thread and does not return the pages of a large parse
/// tree once it is freed, so every worker held on to its largest tree:
/// peak RSS on sympy with the Python rules was 62 MB, against ast-grep's
/// 45 MB. One arena for all threads also fixes it, but costs a quarter of
/// the wall time in lock contention.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own
    // arenas; it touches no memory this program holds.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Where a run's time went (`--stats`). Read, parse, match and validate
/// are summed over the worker threads (CPU time); the others are wall
/// time.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub total: Duration,
    pub walk: Duration,
    pub read: Duration,
    pub parse: Duration,
    pub matching: Duration,
    pub fill: Duration,
    pub validate: Duration,
    /// The type-check gate (`--verify`), wall time.
    pub verify: Duration,
    pub files: usize,
    pub bytes: u64,
    /// Whether the literal prefilter ran, and what it spared.
    pub prefilter: bool,
    pub prefilter_skipped_files: usize,
    pub prefilter_skipped_bytes: u64,
    /// Files a parse of only some top-level items settled (no match), the
    /// bytes that spared parsing, and files a partial parse sent on to a
    /// full one (it found a match or a syntax error).
    pub items_files: usize,
    pub items_skipped_bytes: u64,
    pub items_reparsed: usize,
    /// Files whose findings came from their partial parse (a match there,
    /// and nothing that could differ in a full parse).
    pub items_reused: usize,
}

/// Wall times measured by `run` itself.
struct StageTimes {
    walk: Duration,
    fill: Duration,
    verify: Duration,
    total: Duration,
    files: usize,
    prefilter: bool,
}

/// Per-stage time summed across worker threads (nanoseconds), and counts.
#[derive(Default)]
pub struct StageClock {
    read: AtomicU64,
    parse: AtomicU64,
    matching: AtomicU64,
    bytes: AtomicU64,
    skipped_files: AtomicU64,
    skipped_bytes: AtomicU64,
    items_files: AtomicU64,
    items_skipped_bytes: AtomicU64,
    items_reparsed: AtomicU64,
    items_reused: AtomicU64,
    validate: AtomicU64,
}

impl StageClock {
    fn add(&self, stage: &AtomicU64, since: Instant) {
        stage.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn finish(self, t: StageTimes) -> Stats {
        let ns = |a: AtomicU64| Duration::from_nanos(a.into_inner());
        Stats {
            total: t.total,
            walk: t.walk,
            read: ns(self.read),
            parse: ns(self.parse),
            matching: ns(self.matching),
            fill: t.fill,
            validate: ns(self.validate),
            verify: t.verify,
            files: t.files,
            bytes: self.bytes.into_inner(),
            prefilter: t.prefilter,
            prefilter_skipped_files: self.skipped_files.into_inner() as usize,
            prefilter_skipped_bytes: self.skipped_bytes.into_inner(),
            items_files: self.items_files.into_inner() as usize,
            items_skipped_bytes: self.items_skipped_bytes.into_inner(),
            items_reparsed: self.items_reparsed.into_inner() as usize,
            items_reused: self.items_reused.into_inner() as usize,
        }
    }
}

/// Stages 4 and 5 (and 5b, with `--verify`) for planned files: every live
/// hole of every file goes through one canvas, then each file is rebuilt and
/// reparsed, then the type checkers gate the fills. `apply` and `check`
/// (through [`run`]) and `eval` all finish a run this way.
pub fn fill_and_finalize(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &FillOptions,
    verify_opts: &VerifyOptions,
) -> anyhow::Result<(Option<FillSummary>, Option<VerifySummary>)> {
    let summary = fill_holes_if_any(results, rules, opts, None)?;
    results.par_iter_mut().for_each(|f| finalize(f, rules));
    let verified = verify_fills(results, rules, verify_opts)?;
    Ok((summary, verified))
}

/// Stage 5b, only with `--verify`: the files with accepted fills go through
/// the type checkers; a dropped fill's file is rebuilt by [`finalize`].
fn verify_fills(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &VerifyOptions,
) -> anyhow::Result<Option<VerifySummary>> {
    if !opts.is_on() {
        return Ok(None);
    }
    let rebuild = |f: &mut FileResult| finalize(f, rules);
    verify::gate(results, opts, &rebuild).map(Some)
}

/// Stage 4, only when some live edit has holes (so rules without holes
/// never load a model).
fn fill_holes_if_any(
    results: &mut [FileResult],
    rules: &[Rule],
    opts: &FillOptions,
    defs: Option<&DefIndex>,
) -> anyhow::Result<Option<FillSummary>> {
    let has_holes = results
        .iter()
        .any(|f| f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty()));
    Ok(if has_holes {
        Some(fill::fill_holes(results, rules, opts, defs)?)
    } else {
        None
    })
}

/// Where a scanned file is: its repository-relative path (reports, diffs)
/// and the path rules' `files` / `ignores` globs see (relative to an
/// ast-grep project's folder, else the same).
#[derive(Clone, Copy)]
pub struct ScanAt<'a> {
    pub rel: &'a str,
    pub glob_rel: &'a str,
}

/// Stage 2 + 3 for one file: parse, match every rule, plan edits.
pub fn scan_file(
    f: SourceFile,
    at: ScanAt,
    rules: &[Rule],
    rule_ids: &[String],
    prefilter: bool,
    clock: &StageClock,
) -> FileResult {
    let scan = Scan {
        prefilter,
        want_defs: false,
        validate: false,
    };
    scan_file_and_defs(f, at, rules, rule_ids, scan, clock).0
}

/// What a scan does besides parsing and matching.
#[derive(Clone, Copy)]
struct Scan {
    /// Skip what the rules' literals show cannot match.
    prefilter: bool,
    /// Collect the file's definitions (keyword candidates).
    want_defs: bool,
    /// Validate a file no hole waits on right away (stage 5), while the
    /// worker still holds its tree.
    validate: bool,
}

/// [`scan_file`], and with `want_defs` the file's definitions for keyword
/// candidates, taken from the scan's own parse when there was one.
fn scan_file_and_defs(
    f: SourceFile,
    at: ScanAt,
    rules: &[Rule],
    rule_ids: &[String],
    scan: Scan,
    clock: &StageClock,
) -> (FileResult, candidates::FileDefs) {
    let Scan {
        prefilter,
        want_defs,
        validate,
    } = scan;
    let crlf = plan::is_crlf(&f.text);
    clock
        .bytes
        .fetch_add(f.text.len() as u64, Ordering::Relaxed);
    // Rules that can match here: the file's language and globs, and (unless
    // switched off) the rule's literal text present in the file.
    let active: Vec<usize> = (0..rules.len())
        .filter(|&ri| rules[ri].lang == f.lang && rules[ri].applies_to(Path::new(at.glob_rel)))
        .filter(|&ri| !prefilter || rules[ri].needles.holds(f.text.as_bytes()))
        .collect();
    // One parse and one pre-order traversal of the file serve every rule
    // (each rule's matches stay in pre-order, as with a traversal per rule);
    // a file no rule can match is not parsed at all.
    if active.is_empty() && prefilter {
        clock.skipped_files.fetch_add(1, Ordering::Relaxed);
        clock
            .skipped_bytes
            .fetch_add(f.text.len() as u64, Ordering::Relaxed);
    }
    // A partial parse that finds nothing settles the file. One that finds
    // a match serves as the file's tree when its findings cannot differ
    // from a full parse's (`partial_findings`); otherwise, or on a syntax
    // error, the file is parsed whole.
    let partial = if !active.is_empty() && prefilter {
        partial_scan(&f, rules, &active, clock)
    } else {
        Partial::Whole
    };
    let mut tree = None;
    let mut found = None;
    let mut whole_tree = true;
    let mut settled = false;
    match partial {
        Partial::Whole => {}
        Partial::Settled => settled = true,
        Partial::Found(t, depth) => {
            // Keyword candidates need every definition: only a whole tree.
            if !want_defs {
                let time = Instant::now();
                found = partial_findings(&t, depth, &f, rules, &active);
                clock.add(&clock.matching, time);
            }
            match &found {
                Some((pe, pd)) => {
                    clock.items_reused.fetch_add(1, Ordering::Relaxed);
                    if check_items() {
                        let whole = f.lang.parse(&f.text);
                        let (e, d) = find_all(&whole, &f.text, rules, &active);
                        assert_eq!(
                            format!("{pe:?}{pd:?}"),
                            format!("{e:?}{d:?}"),
                            "a partial parse's findings differ in {}",
                            f.path.display()
                        );
                    }
                    tree = Some(t);
                    whole_tree = false;
                }
                None => {
                    clock.items_reparsed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    let (edits, mut findings) = match found {
        Some(found) => found,
        None => {
            if !active.is_empty() && !settled {
                let t = Instant::now();
                tree = Some(f.lang.parse(&f.text));
                clock.add(&clock.parse, t);
            }
            let t = Instant::now();
            let out = match &tree {
                Some(tree) => find_all(tree, &f.text, rules, &active),
                None => (Vec::new(), Vec::new()),
            };
            clock.add(&clock.matching, t);
            out
        }
    };
    let t = Instant::now();
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
    clock.add(&clock.matching, t);
    let edits_empty = sorted.is_empty();
    let defs = match (&tree, want_defs) {
        // Keyword candidates need every definition: a partial tree
        // never gets here with `want_defs` (see above).
        (Some(tree), true) => candidates::defs_in(tree, &f.text),
        (None, true) => candidates::file_defs(&f.text),
        (_, false) => candidates::FileDefs::default(),
    };
    let result = FileResult {
        path: f.path,
        rel: at.rel.to_string(),
        lang: f.lang,
        original: f.text,
        new_text: None,
        edits: sorted,
        findings,
        rejected: None,
        crlf,
        // Only files with edits are validated; the count walks only into
        // subtrees that hold an error, so it is cheap either way.
        // (A partial tree holds no error; the whole file's count is left to
        // validation, which needs it only when the new text has errors.)
        original_errors: tree
            .as_ref()
            .filter(|_| !edits_empty && whole_tree)
            .map(count_errors),
        line_starts: Default::default(),
    };
    let mut result = result;
    if validate && !has_hole_edits(&result) {
        let t = Instant::now();
        finalize_with(&mut result, rules, tree.as_ref().filter(|_| whole_tree));
        clock.add(&clock.validate, t);
    }
    (result, defs)
}

/// What a partial parse showed.
enum Partial {
    /// No partial parse (a rule in play is not item-local, the language
    /// is not split, or nearly the whole file would be parsed anyway).
    Whole,
    /// The parsed units hold no match: the file has none.
    Settled,
    /// The parsed units hold a match and no syntax error: the partial tree
    /// and how finely the file was cut.
    Found(tree_sitter::Tree, crate::items::Depth),
}

/// Parses only the units (top-level items, class members, with
/// `Depth::Bodies` statements of function bodies) that hold some active
/// rule's literals (`crate::items`), when every active rule is item-local,
/// and tells whether any rule matches there. A partial parse with a syntax
/// error proves nothing: the caller parses the file whole.
fn partial_scan(f: &SourceFile, rules: &[Rule], active: &[usize], clock: &StageClock) -> Partial {
    if !active.iter().all(|&ri| rules[ri].item_local) {
        return Partial::Whole;
    }
    let holds = |item: &[u8]| active.iter().any(|&ri| rules[ri].unit_needles.holds(item));
    // The check mode splits even files that are nearly all kept, so small
    // test files exercise the partial path.
    let most = if check_items() {
        1.1
    } else {
        crate::items::MOST
    };
    let depth = if active.iter().all(|&ri| rules[ri].body_local) {
        crate::items::Depth::Bodies
    } else {
        crate::items::Depth::Items
    };
    let Some(plan) = crate::items::plan(f.lang, &f.text, most, depth, holds) else {
        return Partial::Whole;
    };
    if !plan.ranges.is_empty() {
        let t = Instant::now();
        let tree = f.lang.parse_ranges(&f.text, &plan.ranges);
        clock.add(&clock.parse, t);
        let Some(tree) = tree else {
            return Partial::Whole;
        };
        if tree.root_node().has_error() {
            clock.items_reparsed.fetch_add(1, Ordering::Relaxed);
            return Partial::Whole;
        }
        let t = Instant::now();
        let found = any_match(&tree, &f.text, rules, active);
        clock.add(&clock.matching, t);
        if found {
            return Partial::Found(tree, depth);
        }
    }
    if check_items() {
        let tree = f.lang.parse(&f.text);
        assert!(
            !any_match(&tree, &f.text, rules, active),
            "partial parse missed a match in {}",
            f.path.display()
        );
    }
    clock.items_files.fetch_add(1, Ordering::Relaxed);
    clock
        .items_skipped_bytes
        .fetch_add((f.text.len() - plan.bytes) as u64, Ordering::Relaxed);
    Partial::Settled
}

/// The findings of a partial tree that held a match, when they are those
/// a full parse would give: no active rule's fix expands over siblings
/// (`expandStart` / `expandEnd`: a unit's siblings differ in a partial
/// tree), no finding's range reaches outside its matched node, and every
/// label outside it is a node of one unit (an `inside` rule's ancestor
/// may be a class or function, a container whose extent differs in a
/// partial tree). Every match and what it looks at lies in one parsed unit
/// (item locality), which parses as it does in the file. `None`: parse the
/// file whole.
fn partial_findings(
    tree: &tree_sitter::Tree,
    depth: crate::items::Depth,
    f: &SourceFile,
    rules: &[Rule],
    active: &[usize],
) -> Option<(Vec<Edit>, Vec<Finding>)> {
    let src = f.text.as_str();
    let expands = |ri: usize| {
        rules[ri]
            .fix
            .as_ref()
            .is_some_and(|fx| fx.expand_start.is_some() || fx.expand_end.is_some())
    };
    if active.iter().any(|&ri| expands(ri)) {
        return None;
    }
    let (edits, findings) = find_all(tree, src, rules, active);
    let within = |r: &std::ops::Range<usize>, n: &std::ops::Range<usize>| {
        n.start <= r.start && r.end <= n.end
    };
    let grammar = f.lang.grammar();
    let containers: Vec<u16> = crate::items::containers(f.lang, depth)
        .iter()
        .map(|name| grammar.id_for_node_kind(name, true))
        .filter(|&id| id != 0)
        .collect();
    let confined = findings.iter().all(|fd| {
        within(&fd.range, &fd.node_range)
            && fd.labels.iter().all(|l| {
                within(&l.range, &fd.node_range) || in_one_unit(tree, &l.range, &containers)
            })
    });
    confined.then_some((edits, findings))
}

/// Whether the node that spans exactly `range` lies in one unit of a
/// partial parse: neither it nor any node with the same extent (a
/// container with a single child) is a container or the root. Such a node
/// has the same extent in a full parse.
fn in_one_unit(
    tree: &tree_sitter::Tree,
    range: &std::ops::Range<usize>,
    containers: &[u16],
) -> bool {
    let Some(mut node) = tree
        .root_node()
        .descendant_for_byte_range(range.start, range.end)
    else {
        return false;
    };
    if range.is_empty() || node.byte_range() != *range {
        return false;
    }
    loop {
        if containers.contains(&node.kind_id()) {
            return false;
        }
        match node.parent() {
            None => return false,
            Some(p) if p.byte_range() == *range => node = p,
            Some(_) => return true,
        }
    }
}

/// Every active rule's matches in `tree`, as edits and findings: one
/// pre-order traversal serves every rule, and each rule's matches stay in
/// pre-order (as with a traversal per rule); findings point at their edits.
fn find_all(
    tree: &tree_sitter::Tree,
    src: &str,
    rules: &[Rule],
    active: &[usize],
) -> (Vec<Edit>, Vec<Finding>) {
    let mut per_rule: Vec<Vec<crate::rule::RuleMatch>> =
        active.iter().map(|_| Vec::new()).collect();
    let root = tree.root_node();
    let file = crate::matcher::FileCtx::new(root);
    let kinds = KindFilter::new(rules, active);
    crate::matcher::preorder_tracked(root, &file, |node| {
        let kind = node.kind_id();
        if !kinds.any(kind) {
            return;
        }
        for (slot, &ri) in active.iter().enumerate() {
            if rules[ri].may_match_kind_id(kind) {
                if let Some(m) = rules[ri].match_at(node, src, &file) {
                    per_rule[slot].push(m);
                }
            }
        }
    });
    let mut edits = Vec::new();
    let mut findings = Vec::new();
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
                labels: m.labels,
            });
        }
    }
    (edits, findings)
}

/// The node kinds some active rule may match: most nodes of a file are
/// passed over with one lookup instead of one per rule.
struct KindFilter {
    /// `None`: some rule may match any kind.
    any: Option<Vec<bool>>,
}

impl KindFilter {
    fn new(rules: &[Rule], active: &[usize]) -> KindFilter {
        let mut any: Vec<bool> = Vec::new();
        for &ri in active {
            let Some(k) = &rules[ri].kinds else {
                return KindFilter { any: None };
            };
            if any.len() < k.len() {
                any.resize(k.len(), false);
            }
            for (a, &b) in any.iter_mut().zip(k.iter()) {
                *a |= b;
            }
        }
        KindFilter { any: Some(any) }
    }

    fn any(&self, kind: u16) -> bool {
        self.any
            .as_ref()
            .is_none_or(|a| a.get(kind as usize).copied().unwrap_or(false))
    }
}

/// `REFACTOR_CHECK_ITEMS=1`: files are split even when nearly every item is
/// kept, and every file a partial parse settles is parsed whole as well: a
/// match there is a panic (for tests and `scripts/differential.py`).
fn check_items() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("REFACTOR_CHECK_ITEMS").is_some_and(|v| v == "1"))
}

/// Whether any of the `active` rules matches anywhere in `tree`.
fn any_match(tree: &tree_sitter::Tree, src: &str, rules: &[Rule], active: &[usize]) -> bool {
    let root = tree.root_node();
    let file = crate::matcher::FileCtx::new(root);
    let kinds = KindFilter::new(rules, active);
    let mut found = false;
    crate::matcher::preorder_tracked(root, &file, |node| {
        found = found
            || kinds.any(node.kind_id())
                && active
                    .iter()
                    .any(|&ri| rules[ri].matches_at(node, src, &file));
    });
    found
}

/// Stage 5: build the new text and make sure it still parses. Filled hole
/// edits that break the file are dropped first (those inside a syntax error,
/// else all of them); if the file still breaks, the whole file is left
/// unchanged and reported.
pub fn finalize(f: &mut FileResult, rules: &[Rule]) {
    finalize_with(f, rules, None)
}

/// [`finalize`], given the original's whole tree when the caller still
/// holds it: a file without filled holes is then reparsed incrementally
/// (only around its changes) instead of from scratch.
fn finalize_with(f: &mut FileResult, rules: &[Rule], original_tree: Option<&tree_sitter::Tree>) {
    if !f.edits.iter().any(|e| e.is_live()) {
        return;
    }
    let (text, placed, spans) = plan::apply_with_spans(&f.original, &f.edits, f.crlf);
    if !has_hole_edits(f) && validated_without_full_parse(f, &text, original_tree, &spans) {
        if text != f.original {
            f.new_text = Some(text);
        }
        return;
    }
    let tree = f.lang.parse(&text);
    // The original's errors are counted only when the new text has some
    // (a file matched from a partial parse has no count yet).
    let after = count_errors(&tree);
    let mut ok = after == 0 || after <= f.errors_before();
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
        if reject_unbound_type_names(f, rules, &tree, &text, &placed) {
            return finalize(f, rules);
        }
    }
    if !ok && f.edits.iter().any(|e| e.is_live() && !e.holes.is_empty()) {
        // Drop the fills that sit in a syntax error first, so that one bad
        // fill does not cost the file its good ones; when that cannot be
        // told, every filled edit goes. The retry checks the file again.
        let errors = crate::validate::error_ranges(&tree);
        let mut implicated: Vec<usize> = placed
            .iter()
            .filter(|p| {
                errors
                    .iter()
                    .any(|r| r.start <= p.range.end && p.range.start <= r.end)
            })
            .map(|p| p.edit)
            .collect();
        implicated.sort_unstable();
        implicated.dedup();
        let filled: Vec<usize> = (0..f.edits.len())
            .filter(|&i| f.edits[i].is_live() && !f.edits[i].holes.is_empty())
            .collect();
        // An error that spans every fill (an unclosed bracket swallows the rest of
        // the file) or none of them says nothing: search for the fills that break
        // the file by parsing halves of them.
        if (implicated.is_empty() || implicated.len() == filled.len()) && filled.len() > 1 {
            implicated = breaking_fills(f, f.errors_before(), &filled);
        }
        let all = implicated.is_empty() || implicated.len() == filled.len();
        for (i, e) in f.edits.iter_mut().enumerate() {
            if e.is_live() && !e.holes.is_empty() && (all || implicated.binary_search(&i).is_ok()) {
                e.status = EditStatus::Rejected(RejectReason::FilledFileBroken);
            }
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

/// Whether the rewrite `text` of `f` is shown to parse with no more errors
/// than the original without parsing it from scratch: by an incremental
/// reparse of the original's tree when the scan still holds it, else by its
/// changed units ([`validated_by_parts`]). `false`: parse it whole.
fn validated_without_full_parse(
    f: &FileResult,
    text: &str,
    original_tree: Option<&tree_sitter::Tree>,
    spans: &[crate::plan::Span],
) -> bool {
    // With the original's tree at hand, reparsing around the changes is the
    // cheaper of the two.
    let Some(tree) = original_tree.and_then(|t| f.lang.reparse(&f.original, t, text, spans)) else {
        return validated_by_parts(f, text);
    };
    let after = count_errors(&tree);
    if check_items() {
        assert_eq!(
            after,
            count_errors(&f.lang.parse(text)),
            "an incremental reparse of {} counts other errors than a full parse",
            f.path.display()
        );
    }
    after == 0 || after <= f.errors_before()
}

/// Whether the rewrite `text` of `f` is shown to parse by parsing only the
/// units it changed (`crate::items::changed`: the same unit structure as
/// the original, and the changed units, with the headers of the blocks
/// around them, parse with no error). Units hold their own brackets,
/// strings and indentation, so an unchanged unit parses as before and the
/// whole text has no more errors than the original. `false`: parse it
/// whole. Not for files with filled holes, whose checks need the whole
/// tree.
fn validated_by_parts(f: &FileResult, text: &str) -> bool {
    let Some(plan) = crate::items::changed(f.lang, &f.original, text, crate::items::MOST) else {
        return false;
    };
    if !plan.ranges.is_empty() {
        let Some(tree) = f.lang.parse_ranges(text, &plan.ranges) else {
            return false;
        };
        if tree.root_node().has_error() {
            return false;
        }
    }
    if check_items() {
        assert!(
            count_errors(&f.lang.parse(text)) <= f.errors_before(),
            "the changed units of {} parse, the whole rewrite does not",
            f.path.display()
        );
    }
    true
}

/// The fills among `fills` (live edits with holes) that break the file on their
/// own: the text with only the non-hole edits and a subset of the fills is parsed,
/// halving the subsets that break it (a few parses per broken fill). Empty when
/// none breaks it alone (the fills break it together).
fn breaking_fills(f: &FileResult, before: usize, fills: &[usize]) -> Vec<usize> {
    let parses = |subset: &[usize]| {
        let edits: Vec<Edit> = f
            .edits
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut e = e.clone();
                if !e.holes.is_empty() && subset.binary_search(&i).is_err() {
                    e.status = EditStatus::Rejected(RejectReason::FilledFileBroken);
                }
                e
            })
            .collect();
        let (text, _) = plan::apply(&f.original, &edits, f.crlf);
        count_errors(&f.lang.parse(&text)) <= before
    };
    let mut broken = Vec::new();
    let mut todo: Vec<&[usize]> = vec![fills];
    while let Some(set) = todo.pop() {
        if parses(set) {
            continue;
        }
        if set.len() == 1 {
            broken.push(set[0]);
            continue;
        }
        let (a, b) = set.split_at(set.len() / 2);
        todo.push(b);
        todo.push(a);
    }
    broken.sort_unstable();
    broken
}

/// Python holes of `kind: type` whose fill names something the file never spells
/// ([`crate::validate::python_unbound_names`]) lose their fill: the hole is reported as
/// rejected and its edit is not written. Returns whether any was.
fn reject_unbound_type_names(
    f: &mut FileResult,
    rules: &[Rule],
    tree: &tree_sitter::Tree,
    text: &str,
    placed: &[plan::PlacedHole],
) -> bool {
    if f.lang != Lang::Python {
        return false;
    }
    let is_type = |p: &plan::PlacedHole| {
        let e = &f.edits[p.edit];
        rules[e.rule]
            .holes
            .get(&e.holes[p.hole].name)
            .is_some_and(|h| h.decl.kind.as_deref() == Some("type"))
    };
    let ranges: Vec<_> = placed.iter().map(|p| p.range.clone()).collect();
    let check: Vec<bool> = placed.iter().map(is_type).collect();
    if !check.contains(&true) {
        return false;
    }
    let unbound: Vec<(usize, usize, String)> =
        crate::validate::python_unbound_names(tree, text, &ranges, &check)
            .into_iter()
            .map(|(i, n)| (placed[i].edit, placed[i].hole, n.to_string()))
            .collect();
    for (ei, hi, name) in &unbound {
        let e = &mut f.edits[*ei];
        e.status = EditStatus::Unresolved;
        let h = &mut e.holes[*hi];
        h.fill = None;
        h.problem = Some(HoleProblem::Unbound { name: name.clone() });
    }
    !unbound.is_empty()
}

/// The text of `f` with exactly the live edits of `edits` (the file's edits,
/// with statuses, fills and replacements as a caller chose them), checked as
/// [`finalize`] checks a run's: no more tree-sitter error nodes than
/// `errors_before` (the original's, [`count_errors`]), and every filled hole
/// with a `kind` parsing as that kind in place. Interactive review builds
/// each file from the edits the user accepted with it, so a file that would
/// no longer parse is never written.
pub fn rebuild(
    f: &FileResult,
    edits: &[Edit],
    rules: &[Rule],
    errors_before: usize,
) -> Result<String, RejectReason> {
    let (text, placed) = plan::apply(&f.original, edits, f.crlf);
    let tree = f.lang.parse(&text);
    if count_errors(&tree) > errors_before {
        return Err(RejectReason::FileBroken);
    }
    for p in &placed {
        let e = &edits[p.edit];
        let h = &e.holes[p.hole];
        if let Some(kind) = rules[e.rule].holes.get(&h.name).and_then(|x| x.kind_id) {
            if !crate::validate::has_node_of_kind(&tree, p.range.clone(), kind) {
                return Err(RejectReason::FillKind);
            }
        }
    }
    Ok(text)
}
