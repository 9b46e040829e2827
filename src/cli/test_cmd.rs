//! `refactor test`: runs the cases of rule-test files against their rules.
//!
//! A test file (`NAME.test.yml` or `NAME-test.yml`, anywhere under the given
//! paths) looks like ast-grep's, plus expected fixed output:
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
use crate::rule::{load::is_test_file, load_rules, Rule};
use crate::walk::SourceFile;
use anyhow::Context;
use serde::Deserialize;
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

fn test_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_file() && is_test_file(p) {
            out.push(p.clone());
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
    out
}

/// The rule's rewrite of `code` (holes rendered as `$?NAME`), and whether it
/// matched at all.
pub fn rewrite(rule: &Rule, code: &str) -> (usize, String) {
    let file = SourceFile {
        path: PathBuf::from("test-case"),
        lang: rule.lang,
        text: code.to_string(),
    };
    let rules = std::slice::from_ref(rule);
    let ids = vec![rule.id.clone()];
    let mut result = pipeline::scan_file(
        file,
        "test-case",
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
    let rules = load_rules(&args.paths)?;
    let files = test_files(&args.paths);
    let mut passed = 0;
    let mut failed = 0;
    for tf in &files {
        let text =
            std::fs::read_to_string(tf).with_context(|| format!("cannot read {}", tf.display()))?;
        for (start, doc) in crate::rule::load::split_documents(&text) {
            let t: TestFile = serde_yaml::from_str(&doc).map_err(|e| {
                let line = start + e.location().map_or(1, |l| l.line()) - 1;
                anyhow::anyhow!("{}:{}: invalid rule test: {}", tf.display(), line, e)
            })?;
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
                let (code, fixed) = match case {
                    InvalidCase::Code(c) => (c, None),
                    InvalidCase::WithFix { code, fixed } => (code, fixed.as_ref()),
                };
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

fn display(p: &Path) -> String {
    p.display().to_string()
}
