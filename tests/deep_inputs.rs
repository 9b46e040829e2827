//! Source files nested tens of thousands of levels deep must not crash the
//! matcher (they used to abort with a stack overflow, exit 134): repeated
//! metavariables compare such code iteratively, `has` with a stop rule walks
//! it iteratively, and a util that reaches itself through `has` runs on a
//! stack sized for it.

mod common;

use common::*;

const DEPTH: usize = 20_000;

fn nested(n: usize) -> String {
    format!("{}1{}", "(".repeat(n), ")".repeat(n))
}

fn check(dir: &std::path::Path, rule: &str, file: &str) -> std::process::Output {
    std::fs::write(dir.join("r.yml"), rule).expect("write rule");
    refactor(dir, &["check", "--format", "json", "--rule", "r.yml", file])
}

#[test]
fn repeated_metavariable_on_deeply_nested_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = nested(DEPTH);
    std::fs::write(dir.path().join("e.py"), format!("x = {deep} == {deep}\n")).expect("write");
    let out = check(
        dir.path(),
        "id: same\nlanguage: python\nrule:\n  pattern: $A == $A\n",
        "e.py",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "one finding");
    // One operand differs at the innermost level: no match, and no crash.
    let other = nested(DEPTH).replacen('1', "2", 1);
    std::fs::write(dir.path().join("f.py"), format!("x = {deep} == {other}\n")).expect("write");
    let out = refactor(
        dir.path(),
        &["check", "--format", "json", "--rule", "r.yml", "f.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn has_with_a_stop_rule_and_self_reaching_util_on_deep_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("d.py"), format!("x = {}\n", nested(DEPTH))).expect("write");
    let stop = "id: stop\nlanguage: python\nrule:\n  kind: expression_statement\n  has:\n    kind: integer\n    stopBy: {kind: lambda}\n";
    let out = check(dir.path(), stop, "d.py");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // ast-grep 0.51.1 itself overflows its stack on this one (exit 134).
    let util = "id: rec\nlanguage: python\nutils:\n  deep:\n    any:\n      - kind: integer\n      - has:\n          matches: deep\nrule:\n  kind: expression_statement\n  matches: deep\n";
    let out = check(dir.path(), util, "d.py");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("\"rule\":\"rec\""),
        "{}",
        stdout(&out)
    );
}
