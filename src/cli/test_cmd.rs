//! `refactor test`: runs rule tests.
//!
//! In an ast-grep project (`sgconfig.yml` found from the working folder
//! upwards, or `--config`), the test files of `testConfigs` are run against
//! the project's rules, with ast-grep's snapshots (`__snapshots__/<id>-snapshot.yml`):
//! every invalid case must match, and its first match must give the stored
//! fixed code and labels. `--update-all` rewrites the snapshots that
//! differ, in the bytes ast-grep writes.
//!
//! Given PATHs (or with no project, `rules`), test files (`NAME.test.yml` or
//! `NAME-test.yml`) beside the rules are run; they look like ast-grep's,
//! plus expected fixed output:
//! ```yaml
//! id: rule-id
//! valid:
//!   - "code the rule must not match"
//! invalid:
//!   - "code the rule must match"
//!   - code: "code the rule must match"
//!     fixed: "the code after the rule's fixes"   # holes show as $?NAME
//! ```

use super::flags::TestArgs;
use super::{EXIT_FOUND, EXIT_OK};
use crate::pipeline;
use crate::project::Project;
use crate::rule::load::{split_documents, yaml_files_in};
use crate::rule::{load::is_test_file, load_rules, Rule, RuleError, Severity};
use crate::walk::SourceFile;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    pub id: String,
    #[serde(default)]
    pub valid: Vec<String>,
    #[serde(default)]
    pub invalid: Vec<InvalidCase>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum InvalidCase {
    Code(String),
    WithFix { code: String, fixed: Option<String> },
}

impl InvalidCase {
    fn parts(&self) -> (&String, Option<&String>) {
        match self {
            InvalidCase::Code(c) => (c, None),
            InvalidCase::WithFix { code, fixed } => (code, fixed.as_ref()),
        }
    }
}

/// `NAME` of `NAME.yml`, `NAME.test.yml`, `NAME-test.yaml`, ...
fn rule_stem(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))?;
    Some(
        stem.strip_suffix(".test")
            .or_else(|| stem.strip_suffix("-test"))
            .unwrap_or(stem),
    )
}

/// Existing siblings of `path` named `STEM{suffix}` for each suffix.
fn siblings(path: &Path, suffixes: &[&str]) -> Vec<PathBuf> {
    let Some(stem) = rule_stem(path) else {
        return Vec::new();
    };
    suffixes
        .iter()
        .map(|s| path.with_file_name(format!("{stem}{s}")))
        .filter(|p| p.is_file())
        .collect()
}

const TEST_SUFFIXES: [&str; 4] = [".test.yml", "-test.yml", ".test.yaml", "-test.yaml"];

/// The rules to load for `paths`: a test file given by itself stands for
/// the rule file beside it (`NAME.yml` or `NAME.yaml`).
fn rule_paths(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() && is_test_file(p) {
            let rules = siblings(p, &[".yml", ".yaml"]);
            if rules.is_empty() {
                anyhow::bail!(
                    "{}: no rule file beside this test file (expected {}.yml)",
                    p.display(),
                    rule_stem(p).unwrap_or("NAME")
                );
            }
            out.extend(rules);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Test files for `paths`: test files given by themselves, the test files
/// beside a rule file given by itself, and every test file under a folder.
fn test_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() && is_test_file(p) {
            out.push(p.clone());
            continue;
        }
        if p.is_file() {
            let tests = siblings(p, &TEST_SUFFIXES);
            if tests.is_empty() {
                anyhow::bail!(
                    "{}: no test file beside this rule (expected {}.test.yml or {}-test.yml)",
                    p.display(),
                    rule_stem(p).unwrap_or("NAME"),
                    rule_stem(p).unwrap_or("NAME")
                );
            }
            out.extend(tests);
            continue;
        }
        for e in walkdir::WalkDir::new(p)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            if e.file_type().is_file() && is_test_file(e.path()) {
                out.push(e.into_path());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A case run through the rule as a file of its own.
fn case_file(rule: &Rule, code: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from("test-case"),
        lang: rule.lang,
        text: code.to_string(),
    }
}

/// The rule's rewrite of `code` (holes rendered as `$?NAME`), and whether it
/// matched at all.
pub fn rewrite(rule: &Rule, code: &str) -> (usize, String) {
    let file = case_file(rule, code);
    let rules = std::slice::from_ref(rule);
    let ids = vec![rule.id.clone()];
    let mut result = pipeline::scan_file(
        file,
        pipeline::ScanAt {
            rel: "test-case",
            glob_rel: "test-case",
        },
        rules,
        &ids,
        true,
        &pipeline::StageClock::default(),
    );
    for e in &mut result.edits {
        if !e.holes.is_empty() {
            e.replacement = crate::emit::report::render_replacement(e);
            e.holes.clear();
        }
    }
    let (text, _) = crate::plan::apply(&result.original, &result.edits, result.crlf);
    (result.findings.len(), text)
}

pub fn run(args: TestArgs) -> anyhow::Result<i32> {
    if !args.paths.is_empty() {
        return run_files(&args.paths, &args);
    }
    match crate::project::find(args.config.as_deref())? {
        Some(project) => run_project(&project, &args),
        None => run_files(&[PathBuf::from("rules")], &args),
    }
}

/// Test files beside the rules, with `fixed:` expectations.
fn run_files(paths: &[PathBuf], args: &TestArgs) -> anyhow::Result<i32> {
    if args.update_all {
        anyhow::bail!(
            "--update-all rewrites the snapshots of an ast-grep project (sgconfig.yml); \
             test files given as PATHs keep their expected output in `fixed:`"
        );
    }
    let rules = load_rules(&rule_paths(paths)?)?;
    let files = test_files(paths)?;
    let mut passed = 0;
    let mut failed = 0;
    for tf in &files {
        for (start, t) in read_tests(tf)? {
            if !selected(args, &t.id) {
                continue;
            }
            let Some(rule) = rules.iter().find(|r| r.id == t.id) else {
                anyhow::bail!(
                    "{}:{}: no rule with id `{}` among the given rules",
                    tf.display(),
                    start,
                    t.id
                );
            };
            let mut fail = |what: String| {
                failed += 1;
                println!("FAIL {} [{}] {}", display(tf), t.id, what);
            };
            for code in &t.valid {
                let (n, _) = rewrite(rule, code);
                if n == 0 {
                    passed += 1;
                } else {
                    fail(format!("valid case matched {n} time(s): {code:?}"));
                }
            }
            for case in &t.invalid {
                let (code, fixed) = case.parts();
                let (n, out) = rewrite(rule, code);
                if n == 0 {
                    fail(format!("invalid case did not match: {code:?}"));
                } else if let Some(expected) = fixed {
                    if &out == expected {
                        passed += 1;
                    } else {
                        fail(format!(
                            "fix differs\n  expected: {expected:?}\n  actual:   {out:?}"
                        ));
                    }
                } else {
                    passed += 1;
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FOUND })
}

fn selected(args: &TestArgs, id: &str) -> bool {
    args.filter.as_ref().is_none_or(|re| re.is_match(id))
}

/// The test documents of a file, with the line each starts at.
fn read_tests(path: &Path) -> anyhow::Result<Vec<(usize, TestFile)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    split_documents(&text)
        .into_iter()
        .map(|(start, doc)| {
            let t: TestFile = serde_yaml::from_str(&doc).map_err(|e| {
                let line = start
                    + e.location()
                        .map_or(1, |l| crate::rule::load::line_at(&doc, l.index()))
                    - 1;
                anyhow::anyhow!("{}:{}: invalid rule test: {}", path.display(), line, e)
            })?;
            Ok((start, t))
        })
        .collect()
}

/// ast-grep's snapshot file: `<id>-snapshot.yml`, one per rule id. The
/// field order and types are ast-grep's, and they are read and written with
/// the YAML library ast-grep 0.51 uses (`serde-saphyr` 2.0.0), so
/// `--update-all` writes the bytes ast-grep writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestSnapshots {
    pub id: String,
    pub snapshots: BTreeMap<String, TestSnapshot>,
}

/// What an invalid case gives: the code after the first match's fix (when
/// the rule has one), and the first match's labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSnapshot {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    pub labels: Vec<LabelSnapshot>,
}

/// A label: the matched node (`primary`) or a node a relational rule found
/// (`secondary`), with its text and byte range in the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSnapshot {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub style: String,
    pub start: usize,
    pub end: usize,
}

/// The snapshot of `code` under `rule` as ast-grep makes it: the first
/// match in pre-order, only that match fixed; `None` when nothing matches.
pub fn snapshot(rule: &Rule, code: &str) -> Option<TestSnapshot> {
    let tree = rule.lang.parse(code);
    let m = rule.find(tree.root_node(), code).into_iter().next()?;
    // The match's labels as every report shows them: the rule's `labels:`
    // (in snapshots ordered by position, as ast-grep writes them), or the
    // whole match and the nodes its relational rules found.
    let mut spans = m.labels.clone();
    if !rule.labels.is_empty() {
        spans.sort_by_key(|l| (l.range.start, l.range.end));
    }
    let labels = spans
        .iter()
        .map(|l| LabelSnapshot {
            source: code[l.range.clone()].to_string(),
            message: l.message.clone(),
            style: l.style.name().into(),
            start: l.range.start,
            end: l.range.end,
        })
        .collect();
    let fixed = m.replacement.map(|rendered| {
        let mut edit = crate::plan::Edit::new(0, m.range.clone(), rendered, &[]);
        edit.replacement = crate::emit::report::render_replacement(&edit);
        edit.holes.clear();
        crate::plan::apply(code, &[edit], crate::plan::is_crlf(code)).0
    });
    Some(TestSnapshot { fixed, labels })
}

/// One test document of a project, where it came from, and where its
/// snapshot goes.
struct ProjectTest {
    file: PathBuf,
    line: usize,
    test: TestFile,
    snapshot_dir: PathBuf,
}

/// Test files and snapshots of a project's `testConfigs`, found as ast-grep
/// finds them: every YAML file under a test folder is a test file, except
/// those under its snapshot folder, which are snapshots.
fn project_tests(
    project: &Project,
    args: &TestArgs,
) -> anyhow::Result<(Vec<ProjectTest>, BTreeMap<String, TestSnapshots>)> {
    let mut tests = Vec::new();
    let mut snapshots: BTreeMap<String, TestSnapshots> = BTreeMap::new();
    for t in &project.tests {
        if !t.dir.path.is_dir() {
            return Err(project
                .error(
                    t.dir.line,
                    format!("testConfigs: no such folder `{}`", t.dir.path.display()),
                )
                .into());
        }
        for path in yaml_files_in(&t.dir.path)? {
            if path.starts_with(&t.snapshots) {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let snap: TestSnapshots = serde_saphyr::from_str(&text).map_err(|e| RuleError {
                    path: path.clone(),
                    line: e.location().map_or(1, |l| l.line() as usize),
                    message: format!("invalid snapshot file: {}", saphyr_message(&e)),
                })?;
                if selected(args, &snap.id) {
                    snapshots.insert(snap.id.clone(), snap);
                }
                continue;
            }
            for (line, test) in read_tests(&path)? {
                if selected(args, &test.id) {
                    tests.push(ProjectTest {
                        file: path.clone(),
                        line,
                        test,
                        snapshot_dir: t.snapshots.clone(),
                    });
                }
            }
        }
    }
    Ok((tests, snapshots))
}

/// The first line of a `serde-saphyr` error, less its position (we say
/// where) and its source excerpt.
fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first
        .find(" column ")
        .and_then(|i| first[i..].find(": ").map(|j| i + j + 2))
    {
        Some(start) if first.starts_with("line ") => first[start..].to_string(),
        _ => first.to_string(),
    }
}

/// Indents every line of `text` by `n` spaces (for the failure report).
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

fn yaml(s: &TestSnapshot) -> String {
    serde_saphyr::to_string(s).unwrap_or_default()
}

fn run_project(project: &Project, args: &TestArgs) -> anyhow::Result<i32> {
    let rules = project.rules()?;
    let (tests, existing) = project_tests(project, args)?;
    let mut passed = 0;
    let mut failed = 0;
    let mut skipped = 0;
    // Snapshots accepted with --update-all, and where each id's file goes.
    let mut updated: BTreeMap<String, BTreeMap<String, TestSnapshot>> = BTreeMap::new();
    let mut snapshot_dirs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for pt in &tests {
        let t = &pt.test;
        let at = format!("{}:{}", display(&pt.file), pt.line);
        let rule = rules
            .iter()
            .find(|r| r.id == t.id && (args.include_off || r.severity != Some(Severity::Off)));
        let Some(rule) = rule else {
            skipped += 1;
            let why = match rules.iter().any(|r| r.id == t.id) {
                true => "the rule has `severity: off` (--include-off tests it)",
                false => "no rule has this id",
            };
            println!("SKIP {at} [{}] {why}", t.id);
            continue;
        };
        snapshot_dirs.insert(t.id.clone(), pt.snapshot_dir.clone());
        updated.entry(t.id.clone()).or_default();
        let mut fail = |what: String| {
            failed += 1;
            println!("FAIL {at} [{}] {what}", t.id);
        };
        for code in &t.valid {
            let n = rule.find(rule.lang.parse(code).root_node(), code).len();
            if n == 0 {
                passed += 1;
            } else {
                fail(format!(
                    "valid case matched {n} time(s):\n{}",
                    indent(code, 4).trim_end()
                ));
            }
        }
        for case in &t.invalid {
            let (code, fixed) = case.parts();
            let Some(actual) = snapshot(rule, code) else {
                fail(format!(
                    "invalid case did not match:\n{}",
                    indent(code, 4).trim_end()
                ));
                continue;
            };
            if let Some(expected) = fixed {
                // Our own extension: the expected output of all fixes.
                let (_, out) = rewrite(rule, code);
                if &out == expected {
                    passed += 1;
                } else {
                    fail(format!(
                        "fix differs\n  expected: {expected:?}\n  actual:   {out:?}"
                    ));
                }
                continue;
            }
            if args.skip_snapshot_tests {
                passed += 1;
                continue;
            }
            let stored = existing.get(&t.id).and_then(|s| s.snapshots.get(code));
            if stored == Some(&actual) {
                passed += 1;
            } else if args.update_all {
                passed += 1;
                updated
                    .entry(t.id.clone())
                    .or_default()
                    .insert(code.clone(), actual);
            } else {
                let expected = match stored {
                    Some(s) => indent(&yaml(s), 4),
                    None => "    (no snapshot; --update-all writes one)\n".into(),
                };
                fail(format!(
                    "snapshot differs for the invalid case\n{}  expected:\n{}  got:\n{}",
                    indent(code, 4),
                    expected,
                    indent(&yaml(&actual), 4).trim_end()
                ));
            }
        }
    }
    if args.update_all {
        write_snapshots(existing, updated, &snapshot_dirs)?;
    }
    let skipped = match skipped {
        0 => String::new(),
        n => format!(", {n} skipped"),
    };
    println!("{passed} passed, {failed} failed{skipped}");
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FOUND })
}

/// `--update-all`, as ast-grep does it: each tested rule's snapshot file is
/// the stored snapshots with the changed ones replaced (stored snapshots of
/// cases no longer in the tests are kept), written as `<id>-snapshot.yml`
/// in the snapshot folder of its test folder. Files whose bytes would not
/// change are not touched.
fn write_snapshots(
    existing: BTreeMap<String, TestSnapshots>,
    updated: BTreeMap<String, BTreeMap<String, TestSnapshot>>,
    dirs: &BTreeMap<String, PathBuf>,
) -> anyhow::Result<()> {
    let mut merged = existing;
    for (id, snaps) in updated {
        merged
            .entry(id.clone())
            .or_insert_with(|| TestSnapshots {
                id,
                snapshots: BTreeMap::new(),
            })
            .snapshots
            .extend(snaps);
    }
    for (id, snaps) in merged {
        let Some(dir) = dirs.get(&id) else { continue };
        let text = serde_saphyr::to_string(&snaps)?;
        let file = dir.join(format!("{id}-snapshot.yml"));
        if std::fs::read(&file).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
        println!("updated {}", display(&file));
    }
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
