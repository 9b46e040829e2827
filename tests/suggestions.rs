//! Low-confidence fills shown as suggestions, never applied: `apply` (dry run
//! and `--write`) lists them on stderr, `check --format text|github|sarif`
//! prints them. The hand-built `lookup` model (fixtures/models/,
//! scripts/gen_test_models.py) fills every slot here with "AB" at confidence
//! 0.95 * 0.50 * 0.97 = 0.4607, so it is a suggestion at the default
//! threshold 0.93 (the default for `kind: type`) and an applied fill at `--threshold 0.46`.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const EQ_NONE: &str = "id: eq-none\nlanguage: python\nseverity: error\nmessage: Use `is None`\n\
                       rule:\n  pattern: $X == None\nfix: $X is None\n";

const SOURCE: &str = "def f(x):\n    return x == None\n";

/// `def f(x):` → `def f(x) -> $?RET:` (py-return-type, severity info).
const SUGGESTION: &str = "a.py:1:6: suggestion[py-return-type]: hole RET suggested (0.46): -> AB \
                          (below the threshold 0.93; not applied)";

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs")
}

/// A git repository with `a.py` and, beside the source, the rule `eq.yml`.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(git(dir.path(), &["init", "-q"]).status.success());
    write(&dir.path().join("a.py"), SOURCE);
    write(&dir.path().join("eq.yml"), EQ_NONE);
    dir
}

fn return_rule() -> String {
    root()
        .join("rules/holes/py-return-type.yml")
        .to_string_lossy()
        .into_owned()
}

fn lookup() -> String {
    fixture("models/lookup").to_string_lossy().into_owned()
}

/// `refactor CMD --model lookup --rule py-return-type.yml ARGS... a.py`.
fn run(dir: &Path, cmd: &str, args: &[&str]) -> Output {
    let (m, r) = (lookup(), return_rule());
    let mut all = vec![cmd, "--model", m.as_str(), "--rule", r.as_str()];
    all.extend_from_slice(args);
    all.push("a.py");
    refactor(dir, &all)
}

fn suggestion_lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| l.contains("suggested (")).collect()
}

#[test]
fn dry_run_lists_the_suggestion_on_stderr_and_the_diff_still_applies() {
    let dir = sandbox();
    let out = run(dir.path(), "apply", &["--rule", "eq.yml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(suggestion_lines(&stderr(&out)), vec![SUGGESTION]);
    // stdout is the patch of the confident edit only.
    let patch = stdout(&out);
    assert!(
        !patch.contains("suggest") && !patch.contains("AB"),
        "{patch}"
    );
    assert!(patch.contains("+    return x is None"), "{patch}");
    std::fs::write(dir.path().join("p.diff"), &patch).unwrap();
    let applied = git(dir.path(), &["apply", "p.diff"]);
    assert!(
        applied.status.success(),
        "git apply refused:\n{patch}\n{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
        "def f(x):\n    return x is None\n"
    );
}

#[test]
fn write_reports_the_suggestion_and_leaves_the_hole_site_unchanged() {
    let dir = sandbox();
    let out = run(dir.path(), "apply", &["--rule", "eq.yml", "--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(suggestion_lines(&stderr(&out)), vec![SUGGESTION]);
    assert_eq!(stdout(&out), "");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
        "def f(x):\n    return x is None\n"
    );
    // Only the suggestion left: nothing is written.
    let before = snapshot(dir.path());
    let out = run(dir.path(), "apply", &["--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(suggestion_lines(&stderr(&out)), vec![SUGGESTION]);
    assert_eq!(snapshot(dir.path()), before);
    // --quiet silences the list, as every other stderr line.
    let out = run(dir.path(), "apply", &["--quiet"]);
    assert_eq!(stderr(&out), "");
}

#[test]
fn fills_at_or_above_the_threshold_are_applied_not_suggested() {
    let dir = sandbox();
    // The file must know the name `AB` for a type fill to use it.
    let source = format!("{SOURCE}\n\nAB = int\n");
    write(&dir.path().join("a.py"), &source);
    for cmd in [
        vec!["apply", "--threshold", "0.46"],
        vec!["check", "--threshold", "0.46"],
        vec!["check", "--threshold", "0.46", "--format", "github"],
    ] {
        let out = run(dir.path(), cmd[0], &cmd[1..]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(suggestion_lines(&stdout(&out)).is_empty(), "{cmd:?}");
        assert!(suggestion_lines(&stderr(&out)).is_empty(), "{cmd:?}");
    }
    let out = run(dir.path(), "apply", &["--threshold", "0.46", "--write"]);
    assert!(suggestion_lines(&stderr(&out)).is_empty());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
        source.replace("def f(x):", "def f(x) -> AB:")
    );
}

#[test]
fn a_guess_failing_the_regex_is_not_a_suggestion() {
    // "AB" at 0.46 is below the threshold; a hole whose `regex` refuses it
    // has no suggestion (the guess is still in the JSON report).
    let dir = sandbox();
    let rule = "id: ret\nlanguage: python\nrule: {kind: parameters, pattern: $P, inside: {kind: function_definition}}\n\
                fix: \"$P -> $?T\"\nholes:\n  T: {regex: '^[a-z]+$'}\n";
    write(&dir.path().join("r.yml"), rule);
    let m = lookup();
    let out = refactor(
        dir.path(),
        &["apply", "--model", &m, "--rule", "r.yml", "a.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        suggestion_lines(&stderr(&out)).is_empty(),
        "{}",
        stderr(&out)
    );
    // The same rule with a regex the guess matches: a suggestion.
    write(&dir.path().join("r.yml"), &rule.replace("[a-z]", "[A-Z]"));
    let out = refactor(
        dir.path(),
        &["apply", "--model", &m, "--rule", "r.yml", "a.py"],
    );
    assert_eq!(
        suggestion_lines(&stderr(&out)),
        vec!["a.py:1:6: suggestion[ret]: hole T suggested (0.46): -> AB (below the threshold 0.95; not applied)"]
    );
}

#[test]
fn check_text_prints_the_suggestion_under_its_finding_and_exits_0() {
    let dir = sandbox();
    let out = run(dir.path(), "check", &[]);
    // The finding is `info`, below the default --fail-on error; the
    // suggestion adds no finding of its own.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "a.py:1:6: info[py-return-type]: Function has no return annotation; add one."
    );
    assert!(lines.contains(&"    +def f(x) -> $?RET:"), "{text}");
    assert_eq!(*lines.last().unwrap(), SUGGESTION, "{text}");
    assert_eq!(suggestion_lines(&text), vec![SUGGESTION]);
    // A suggestion never fails a run by itself: with --fail-on info the
    // finding fails it, with or without a suggestion.
    let out = run(dir.path(), "check", &["--fail-on", "info"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        dir.path(),
        "check",
        &["--fail-on", "info", "--threshold", "0.4"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(snapshot(dir.path())[Path::new("a.py")], SOURCE.as_bytes());
}

#[test]
fn check_github_adds_a_notice_per_suggestion() {
    let dir = sandbox();
    let out = run(dir.path(), "check", &["--format", "github"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "::notice file=a.py,line=1,col=6,endLine=1,endColumn=9,title=py-return-type::\
         Function has no return annotation; add one.\n\
         ::notice file=a.py,line=1,col=6,endLine=1,endColumn=9,title=py-return-type suggestion::\
         hole RET suggested (0.46): -> AB (below the threshold 0.93; not applied)\n"
    );
}

fn assert_valid_sarif(doc: &Value) {
    let path = root().join("fixtures/check/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "file:///sarif-schema-2.1.0.json";
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("SARIF does not validate: {e:#}\n{doc:#}");
    }
}

#[test]
fn check_sarif_carries_the_suggestion_in_the_message_and_no_fix() {
    let dir = sandbox();
    let out = run(
        dir.path(),
        "check",
        &[
            "--rule",
            "eq.yml",
            "--format",
            "sarif",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("sarif is json");
    assert_valid_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let hole = &results[0];
    assert_eq!(hole["ruleId"], "py-return-type");
    assert_eq!(hole["level"], "note");
    assert_eq!(
        hole["message"]["text"],
        "Function has no return annotation; add one.\n\
         Suggestion: hole RET suggested (0.46): -> AB (below the threshold 0.93; not applied)"
    );
    assert!(hole.get("fixes").is_none(), "{hole:#}");
    let s = &hole["properties"]["suggestions"][0];
    assert_eq!(s["hole"], "RET");
    assert_eq!(s["text"], "AB");
    assert!((s["confidence"].as_f64().unwrap() - 0.4607).abs() < 1e-3);
    assert!((s["threshold"].as_f64().unwrap() - 0.93).abs() < 1e-6);
    // The confident edit keeps its fix and its plain message.
    let eq = &results[1];
    assert_eq!(eq["ruleId"], "eq-none");
    assert_eq!(eq["message"]["text"], "Use `is None`");
    assert!(eq["fixes"].is_array());
    assert!(eq.get("properties").is_none());
}

#[test]
fn json_keeps_the_guess_and_its_confidence() {
    let dir = sandbox();
    let out = run(dir.path(), "check", &["--format", "json"]);
    let rec: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(rec["status"], "unresolved");
    assert_eq!(rec["holes"][0]["text"], "AB");
    assert_eq!(rec["holes"][0]["status"], "unresolved");
    assert!((rec["holes"][0]["confidence"].as_f64().unwrap() - 0.4607).abs() < 1e-3);
}
