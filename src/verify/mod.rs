//! Stage 5b, `--verify mypy|cargo`: a type checker as the last gate for hole
//! fills. It runs after the reparse (`pipeline::finalize`), on the files that
//! received at least one accepted fill, and never on the user's files
//! themselves: mypy reads the texts through `--shadow-file` ([`mypy`]), cargo
//! checks a copy of the crate ([`cargo`]).
//!
//! Each checker runs once on the *baseline* of every such file (the original
//! text with the file's edits that have no hole, so only fills are judged) and
//! once on the new text. An error of the new run that the baseline lacks
//! (same file, message and code, on the same line once lines are mapped
//! through the edits) is *new*. A new error on a line holding a fill drops
//! that fill; one on a line that calls a function of the file whose
//! definition holds a fill drops that function's fills (a wrong return type
//! shows where the result is used); one elsewhere drops the fills of the
//! innermost function or item around it that holds fills, else every fill of
//! the file. Blame that is not pointed (the class or item around the error,
//! the whole file) waits for one re-check, since a fill in another file may
//! be the cause and is dropped by then. Files are rebuilt and checked again
//! (at most twice); a file that still has new errors loses all its fills.
//! A dropped fill's edit becomes [`EditStatus::Unresolved`] with
//! [`HoleProblem::TypeCheck`] on its holes; the file's other edits stay.
//!
//! Invariant: a fill the checker reports a new error for is never in a
//! file's `new_text`.

mod cargo;
mod mypy;

use crate::lang::{callee_name, Lang};
use crate::plan::{self, EditStatus, HoleProblem};
use crate::results::{line_col, FileResult};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A type checker the gate can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Checker {
    /// mypy, on Python files (`.py`, `.pyi`).
    Mypy,
    /// `cargo check`, on the Rust files of a crate.
    Cargo,
}

impl Checker {
    pub fn name(self) -> &'static str {
        match self {
            Checker::Mypy => "mypy",
            Checker::Cargo => "cargo",
        }
    }

    fn lang(self) -> Lang {
        match self {
            Checker::Mypy => Lang::Python,
            Checker::Cargo => Lang::Rust,
        }
    }
}

/// A checker's command line, found before the run starts.
#[derive(Debug, Clone)]
pub struct Tool {
    pub checker: Checker,
    program: String,
    args: Vec<String>,
}

impl Tool {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c
    }

    /// How the command is shown in messages.
    fn shown(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The gate's options: the checkers to run (none: the gate is off).
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub tools: Vec<Tool>,
}

impl VerifyOptions {
    pub fn is_on(&self) -> bool {
        !self.tools.is_empty()
    }
}

/// Environment variables that name a checker's command (split on
/// whitespace, so `python3.12 -m mypy` works).
pub const MYPY_ENV: &str = "REFACTOR_MYPY";
pub const CARGO_ENV: &str = "REFACTOR_CARGO";

/// Finds the command of every checker, or says what to install. Called
/// before any file is walked, so a missing checker is an error (exit code
/// 2) before anything is read or written.
pub fn find_tools(checkers: &[Checker]) -> anyhow::Result<VerifyOptions> {
    let mut wanted: Vec<Checker> = checkers.to_vec();
    wanted.sort();
    wanted.dedup();
    let tools = wanted
        .into_iter()
        .map(find_tool)
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(VerifyOptions { tools })
}

fn runs(program: &str, args: &[String]) -> bool {
    Command::new(program)
        .args(args)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn find_tool(checker: Checker) -> anyhow::Result<Tool> {
    let env = match checker {
        Checker::Mypy => MYPY_ENV,
        Checker::Cargo => CARGO_ENV,
    };
    if let Some(v) = std::env::var_os(env).filter(|v| !v.is_empty()) {
        let v = v.to_string_lossy().into_owned();
        let mut words = v.split_whitespace().map(str::to_string);
        let program = words.next().unwrap_or_default();
        let args: Vec<String> = words.collect();
        if !runs(&program, &args) {
            anyhow::bail!(
                "--verify {}: {env}=`{v}` does not run (`{v} --version` failed); nothing was written",
                checker.name()
            );
        }
        return Ok(Tool {
            checker,
            program,
            args,
        });
    }
    let candidates: Vec<(&str, Vec<String>)> = match checker {
        Checker::Mypy => vec![
            ("python3", vec!["-m".into(), "mypy".into()]),
            ("mypy", vec![]),
        ],
        Checker::Cargo => vec![("cargo", vec![])],
    };
    for (program, args) in candidates {
        if runs(program, &args) {
            return Ok(Tool {
                checker,
                program: program.to_string(),
                args,
            });
        }
    }
    match checker {
        Checker::Mypy => anyhow::bail!(
            "--verify mypy needs mypy, which was not found (tried `python3 -m mypy` and `mypy` \
             on PATH): install it with `python3 -m pip install mypy`, or set {MYPY_ENV} to its \
             command; nothing was written"
        ),
        Checker::Cargo => anyhow::bail!(
            "--verify cargo needs cargo, which was not found on PATH: install Rust \
             (https://rustup.rs), or set {CARGO_ENV} to cargo's path; nothing was written"
        ),
    }
}

/// One error a checker reported (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The error code (`return-value`, `E0308`), empty when there is none.
    pub code: String,
}

impl std::fmt::Display for TypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)?;
        if !self.code.is_empty() {
            write!(f, " [{}]", self.code)?;
        }
        Ok(())
    }
}

/// One checker run over a fixed set of files: each [`Session::check`] checks
/// the given texts in place of those files and returns each file's errors.
trait Session {
    fn check(&mut self, texts: &[&str]) -> anyhow::Result<Vec<Vec<TypeError>>>;
}

/// What the gate did (the summary line and `--stats`).
#[derive(Debug, Clone, Default)]
pub struct VerifySummary {
    /// The checkers asked for.
    pub checkers: Vec<&'static str>,
    /// Files checked, and the fills they held.
    pub files: usize,
    pub fills: usize,
    /// Fills dropped because they add type errors.
    pub dropped: usize,
    /// Checker runs (each over all the files of one checker).
    pub runs: usize,
    pub seconds: f64,
    /// Files with fills that a checker could not check, and why (their
    /// fills are kept).
    pub unchecked: Vec<(String, String)>,
}

/// The gate. `rebuild` rebuilds a file's `new_text` from its live edits
/// (the pipeline's reparse stage, so the result still parses).
pub fn gate(
    results: &mut [FileResult],
    opts: &VerifyOptions,
    rebuild: &dyn Fn(&mut FileResult),
) -> anyhow::Result<VerifySummary> {
    let started = Instant::now();
    let mut summary = VerifySummary::default();
    for tool in &opts.tools {
        summary.checkers.push(tool.checker.name());
        let mut idx: Vec<usize> = Vec::new();
        for (i, f) in results.iter().enumerate() {
            if f.lang != tool.checker.lang() || f.new_text.is_none() || fills(f).is_empty() {
                continue;
            }
            if tool.checker == Checker::Mypy && !mypy::checks(&f.path) {
                summary
                    .unchecked
                    .push((f.rel.clone(), "mypy checks .py and .pyi files only".into()));
                continue;
            }
            idx.push(i);
        }
        if idx.is_empty() {
            continue;
        }
        let paths: Vec<PathBuf> = idx.iter().map(|&i| results[i].path.clone()).collect();
        let (mut session, unchecked): (Box<dyn Session>, Vec<(usize, String)>) = match tool.checker
        {
            Checker::Mypy => (Box::new(mypy::MypySession::new(tool, &paths)?), Vec::new()),
            Checker::Cargo => {
                let (s, u) = cargo::CargoSession::new(tool, &paths)?;
                (Box::new(s), u)
            }
        };
        let skip: BTreeSet<usize> = unchecked.iter().map(|(k, _)| *k).collect();
        for (k, why) in unchecked {
            summary.unchecked.push((results[idx[k]].rel.clone(), why));
        }
        let bases: Vec<String> = idx.iter().map(|&i| base_text(&results[i])).collect();
        let news: Vec<String> = idx.iter().map(|&i| current_text(&results[i])).collect();
        for (k, &i) in idx.iter().enumerate() {
            if !skip.contains(&k) {
                summary.files += 1;
                summary.fills += fills(&results[i]).len();
            }
        }
        let base_errors = session.check(&refs(&bases))?;
        let mut texts = news;
        let mut errors = session.check(&refs(&texts))?;
        summary.runs += 2;
        // Round 0 drops only the fills an error points at (its line, a
        // function it calls, the function around it) and leaves the rest for
        // a re-check, since a fill in another file may be the cause (a wrong
        // return type shows where the function is used). Round 1 also blames
        // the class or item around an error, else the whole file; round 2
        // drops every fill of a file that still has new errors.
        let mut pending: Vec<usize> = (0..idx.len()).filter(|k| !skip.contains(k)).collect();
        for round in 0..3 {
            let mut recheck = Vec::new();
            let mut dropped_any = false;
            for &k in &pending {
                let fresh = new_only(&bases[k], &texts[k], &base_errors[k], &errors[k]);
                if fresh.is_empty() {
                    continue;
                }
                let f = &mut results[idx[k]];
                let chosen = match round {
                    0 => attribute(f, &fresh, false),
                    1 => attribute(f, &fresh, true),
                    _ => fills(f).into_iter().map(|(e, _)| (e, &fresh[0])).collect(),
                };
                if !chosen.is_empty() {
                    summary.dropped += drop_fills(f, &chosen, tool.checker);
                    f.new_text = None;
                    rebuild(f);
                    dropped_any = true;
                }
                if !fills(f).is_empty() {
                    recheck.push(k);
                }
            }
            if recheck.is_empty() {
                break;
            }
            if dropped_any {
                texts = idx.iter().map(|&i| current_text(&results[i])).collect();
                errors = session.check(&refs(&texts))?;
                summary.runs += 1;
            }
            pending = recheck;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn refs(texts: &[String]) -> Vec<&str> {
    texts.iter().map(String::as_str).collect()
}

/// The text a file gets written with (its original when nothing changes).
fn current_text(f: &FileResult) -> String {
    f.new_text.clone().unwrap_or_else(|| f.original.clone())
}

/// The baseline: the original with the file's live edits that have no hole,
/// so a rule's plain rewrites are never blamed on its fills.
fn base_text(f: &FileResult) -> String {
    let plain: Vec<plan::Edit> = f
        .edits
        .iter()
        .filter(|e| e.holes.is_empty())
        .cloned()
        .collect();
    plan::apply(&f.original, &plain, f.crlf).0
}

/// Live edits with at least one accepted fill: (edit, byte ranges of its
/// fills in the new text).
fn fills(f: &FileResult) -> Vec<(usize, Vec<std::ops::Range<usize>>)> {
    let (_, placed) = plan::apply(&f.original, &f.edits, f.crlf);
    let mut out: BTreeMap<usize, Vec<std::ops::Range<usize>>> = BTreeMap::new();
    for p in placed {
        if f.edits[p.edit].holes[p.hole].fill.is_some() {
            out.entry(p.edit).or_default().push(p.range);
        }
    }
    out.into_iter().collect()
}

/// The errors of `new` (on `new_text`) that `base` (on `base_text`) lacks:
/// matched by message and code on the same line, once each line of the new
/// text is mapped to the baseline's (a changed line to the first line of
/// the baseline's change).
fn new_only(
    base_text: &str,
    new_text: &str,
    base: &[TypeError],
    new: &[TypeError],
) -> Vec<TypeError> {
    let map = line_map(base_text, new_text);
    let mut pool: HashMap<(usize, &str, &str), usize> = HashMap::new();
    for e in base {
        *pool
            .entry((e.line, e.message.as_str(), e.code.as_str()))
            .or_default() += 1;
    }
    let mut out = Vec::new();
    for e in new {
        let line = map.get(e.line.wrapping_sub(1)).copied().unwrap_or(e.line);
        match pool.get_mut(&(line, e.message.as_str(), e.code.as_str())) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(e.clone()),
        }
    }
    out
}

/// For each 0-based line of `new`, the 1-based line of `base` it comes from.
fn line_map(base: &str, new: &str) -> Vec<usize> {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .timeout(std::time::Duration::from_secs(2))
        .diff_lines(base, new);
    let mut map = Vec::new();
    for op in diff.ops() {
        let (tag, old, newr) = op.as_tag_tuple();
        for j in newr.clone() {
            let from = match tag {
                similar::DiffTag::Equal => old.start + (j - newr.start),
                _ => old.start,
            };
            if map.len() <= j {
                map.resize(j + 1, 0);
            }
            map[j] = from + 1;
        }
    }
    map
}

/// Node kinds a new error is blamed on the fills of (the innermost one
/// around it that holds a fill).
fn enclosing_kinds(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &["function_definition", "lambda", "class_definition"],
        Lang::Rust => &[
            "function_item",
            "closure_expression",
            "impl_item",
            "trait_item",
            "struct_item",
            "enum_item",
            "union_item",
            "const_item",
            "static_item",
            "type_item",
            "mod_item",
        ],
        _ => &[],
    }
}

/// Which fills each new error is blamed on: edit → the first error blamed
/// on it. Without `broad`, only the fills on the error's line, of the
/// functions it calls, or of the function around it; with `broad`, also
/// those of the class or item around it, else all the file's fills.
fn attribute<'e>(
    f: &FileResult,
    errors: &'e [TypeError],
    broad: bool,
) -> BTreeMap<usize, &'e TypeError> {
    let text = f.new_text.as_deref().unwrap_or(&f.original);
    let fills = fills(f);
    let lines = |r: &std::ops::Range<usize>| (line_col(text, r.start).0, line_col(text, r.end).0);
    let tree = f.lang.parse(text);
    let kinds = match broad {
        true => enclosing_kinds(f.lang),
        false => call_shapes(f.lang).0,
    };
    let mut out: BTreeMap<usize, &TypeError> = BTreeMap::new();
    for err in errors {
        let on_line: Vec<usize> = fills
            .iter()
            .filter(|(_, rs)| {
                rs.iter().any(|r| {
                    let (a, b) = lines(r);
                    a <= err.line && err.line <= b
                })
            })
            .map(|(e, _)| *e)
            .collect();
        // A return-value error is about the enclosing function's own
        // annotation, whatever the returned expression calls.
        let called = match err.code.as_str() {
            "return-value" => Vec::new(),
            _ => called_defs_with_fills(&tree, text, f.lang, err.line, &fills),
        };
        let blamed = if !on_line.is_empty() {
            on_line
        } else if !called.is_empty() {
            called
        } else {
            match innermost(&tree, kinds, err.line, &fills) {
                Some(range) => fills
                    .iter()
                    .filter(|(_, rs)| {
                        rs.iter()
                            .any(|r| range.start <= r.start && r.end <= range.end)
                    })
                    .map(|(e, _)| *e)
                    .collect(),
                None if broad => fills.iter().map(|(e, _)| *e).collect(),
                None => Vec::new(),
            }
        };
        for e in blamed {
            out.entry(e).or_insert(err);
        }
    }
    out
}

/// Function definitions, call expressions and the field naming the callee,
/// per language.
fn call_shapes(lang: Lang) -> (&'static [&'static str], &'static str) {
    match lang {
        Lang::Python => (&["function_definition"], "call"),
        Lang::Rust => (
            &["function_item", "function_signature_item"],
            "call_expression",
        ),
        _ => (&[], ""),
    }
}

/// The fills of the functions this file defines that are called on 1-based
/// `line`: a wrong return type shows where its result is used (`await
/// self.decode(…)` when `decode` got `-> None`), so the error there is the
/// callee's fill's, not its caller's. A fill belongs to the innermost
/// function around it.
fn called_defs_with_fills(
    tree: &tree_sitter::Tree,
    text: &str,
    lang: Lang,
    line: usize,
    fills: &[(usize, Vec<std::ops::Range<usize>>)],
) -> Vec<usize> {
    let (def_kinds, call_kind) = call_shapes(lang);
    let Some(row) = line.checked_sub(1) else {
        return Vec::new();
    };
    let mut called: BTreeSet<&str> = BTreeSet::new();
    let mut defs: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        let spans_row = n.start_position().row <= row && row <= n.end_position().row;
        if spans_row && n.kind() == call_kind {
            if let Some(name) = callee_name(n, text) {
                called.insert(name);
            }
        }
        if def_kinds.contains(&n.kind()) {
            if let Some(name) = n
                .child_by_field_name("name")
                .and_then(|c| text.get(c.byte_range()))
            {
                defs.push((n.byte_range(), name));
            }
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    if called.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (edit, ranges) in fills {
        let owner = ranges.iter().find_map(|r| {
            defs.iter()
                .filter(|(d, _)| d.start <= r.start && r.end <= d.end)
                .min_by_key(|(d, _)| d.len())
        });
        if owner.is_some_and(|(_, name)| called.contains(name)) {
            out.push(*edit);
        }
    }
    out
}

/// The byte range of the smallest node of `kinds` that spans 1-based `line`
/// and holds at least one fill.
fn innermost(
    tree: &tree_sitter::Tree,
    kinds: &[&str],
    line: usize,
    fills: &[(usize, Vec<std::ops::Range<usize>>)],
) -> Option<std::ops::Range<usize>> {
    let row = line.checked_sub(1)?;
    let holds_fill = |r: &std::ops::Range<usize>| {
        fills
            .iter()
            .flat_map(|(_, rs)| rs)
            .any(|f| r.start <= f.start && f.end <= r.end)
    };
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        if n.start_position().row > row || n.end_position().row < row {
            continue;
        }
        let r = n.byte_range();
        if kinds.contains(&n.kind())
            && holds_fill(&r)
            && best.as_ref().is_none_or(|b| r.len() < b.len())
        {
            best = Some(r);
        }
        let mut c = n.walk();
        stack.extend(n.children(&mut c));
    }
    best
}

/// Drops the fills of `chosen` edits: each becomes unresolved, its filled
/// holes carrying the error. Returns how many edits were dropped.
fn drop_fills(f: &mut FileResult, chosen: &BTreeMap<usize, &TypeError>, checker: Checker) -> usize {
    let mut n = 0;
    for (&ei, err) in chosen {
        let e = &mut f.edits[ei];
        if !e.is_live() {
            continue;
        }
        e.status = EditStatus::Unresolved;
        for h in e.holes.iter_mut().filter(|h| h.fill.is_some()) {
            h.fill = None;
            h.problem = Some(HoleProblem::TypeCheck {
                checker: checker.name(),
                message: err.to_string(),
            });
        }
        n += 1;
    }
    n
}

/// `path` made absolute and canonical when it exists (checkers print paths
/// relative to their working folder or absolute).
fn canonical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    std::fs::canonicalize(&abs).unwrap_or(abs)
}

/// The last lines of a checker's output, for an error message.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: usize, msg: &str) -> TypeError {
        TypeError {
            line,
            column: 1,
            message: msg.into(),
            code: "c".into(),
        }
    }

    #[test]
    fn errors_are_new_only_when_the_baseline_lacks_them_on_the_mapped_line() {
        let base = "a\nb\nc\n";
        let new = "a\nX\nY\nb\nc\n";
        // `c` moved from line 3 to 5; the same error there is old.
        let fresh = new_only(base, new, &[err(3, "m")], &[err(5, "m"), err(2, "m")]);
        assert_eq!(fresh, vec![err(2, "m")]);
        // Counted: two equal errors where the baseline had one.
        let fresh = new_only(base, base, &[err(1, "m")], &[err(1, "m"), err(1, "m")]);
        assert_eq!(fresh.len(), 1);
        assert_eq!(line_map(base, new), vec![1, 2, 2, 2, 3]);
    }

    #[test]
    fn an_error_where_a_filled_function_is_called_blames_its_fill() {
        let text = "class W:\n    def decode(self) -> None:\n        pass\n\n    def run(self) -> None:\n        data = self.decode()\n";
        let tree = Lang::Python.parse(text);
        let at = |s: &str| {
            let i = text.find(s).expect("in text");
            i..i + s.len()
        };
        // Edit 0 filled `None` into decode, edit 1 into run.
        let fills = vec![
            (0, vec![at("None:\n        pass")]),
            (1, vec![at("None:\n        data")]),
        ]
        .into_iter()
        .map(|(e, rs): (usize, Vec<std::ops::Range<usize>>)| {
            (e, rs.into_iter().map(|r| r.start..r.start + 4).collect())
        })
        .collect::<Vec<_>>();
        assert_eq!(
            called_defs_with_fills(&tree, text, Lang::Python, 6, &fills),
            vec![0]
        );
        assert!(called_defs_with_fills(&tree, text, Lang::Python, 3, &fills).is_empty());
        // Without the call heuristic, line 6 is inside `run`.
        let kinds = enclosing_kinds(Lang::Python);
        let r = innermost(&tree, kinds, 6, &fills).expect("run holds a fill");
        assert_eq!(&text[r][..12], "def run(self");
    }

    #[test]
    fn a_type_error_reads_as_line_message_and_code() {
        assert_eq!(err(4, "bad").to_string(), "line 4: bad [c]");
    }
}
