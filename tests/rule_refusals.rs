//! Bad rules are refused when they are loaded: exit code 2, `r.yml:LINE:
//! message`, and nothing written — never a whole-file rewrite, a stack
//! overflow or a hang. Each case runs the real binary as
//! `refactor apply --write --rule r.yml src` on a small Python file.
//!
//! Most cases are files under `fixtures/bad-rules/`: line 1 says what the
//! file tests, line 2 is `# expect: LINE: text of the message`. Cases too
//! large to keep as files are generated here.

mod common;

use common::*;
use std::time::{Duration, Instant};

const SOURCE: &str = "x = a + b\nprint(x)\nfoo(a, b)\n";

/// Runs `refactor apply --write --rule r.yml src` with `rule` as r.yml and
/// checks the refusal: exit code 2, `r.yml:LINE:` and `message` on stderr,
/// every file byte-identical afterwards.
fn assert_refused(name: &str, rule: &str, line: usize, message: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("r.yml"), rule);
    write(&dir.path().join("src/t.py"), SOURCE);
    let before = snapshot(dir.path());
    let out = refactor(dir.path(), &["apply", "--write", "--rule", "r.yml", "src"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: exit code; stderr:\n{err}"
    );
    assert!(
        err.contains(&format!("r.yml:{line}: ")),
        "{name}: expected `r.yml:{line}: ` on stderr, got:\n{err}"
    );
    assert!(
        err.contains(message),
        "{name}: expected `{message}` on stderr, got:\n{err}"
    );
    assert!(
        snapshot(dir.path()) == before,
        "{name}: files changed after a refused rule"
    );
}

/// The rule loads and runs (the checks must not refuse what ast-grep
/// accepts).
fn assert_accepted(name: &str, rule: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("r.yml"), rule);
    write(&dir.path().join("src/t.py"), SOURCE);
    let out = refactor(dir.path(), &["apply", "--rule", "r.yml", "src"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: should load; stderr:\n{}",
        stderr(&out)
    );
}

#[test]
fn bad_rule_fixtures_are_refused_with_their_line() {
    let dir = root().join("fixtures/bad-rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/bad-rules")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("read fixture");
        let mut lines = text.lines();
        let what = lines.next().unwrap_or("");
        assert!(
            what.starts_with("# "),
            "{name}: line 1 must say what it tests"
        );
        let expect = lines
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{name}: line 2 must be `# expect: LINE: message`"));
        let (line, message) = expect.split_once(": ").expect("LINE: message");
        let line: usize = line.parse().expect("line number");
        assert_refused(&name, &text, line, message);
    }
}

#[test]
fn pattern_of_20000_terms_is_refused_not_a_stack_overflow() {
    let terms = vec!["a"; 20_000].join(" + ");
    let rule = format!("id: deep\nlanguage: python\nrule:\n  pattern: {terms}\nfix: X\n");
    assert_refused(
        "20,000-term pattern",
        &rule,
        4,
        "pattern nests more than 500 levels deep",
    );
}

#[test]
fn pattern_at_the_depth_limit_still_matches() {
    // 497 terms nest 498 levels below the module: inside the limit.
    let terms = vec!["a"; 497].join(" + ");
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("r.yml"),
        &format!("id: deep\nlanguage: python\nrule:\n  pattern: {terms}\nfix: X\n"),
    );
    write(&dir.path().join("src/t.py"), &format!("y = {terms}\n"));
    let out = refactor(dir.path(), &["apply", "--write", "--rule", "r.yml", "src"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("src/t.py")).expect("read");
    assert_eq!(text, "y = X\n");
}

#[test]
fn deeply_nested_yaml_rule_is_refused() {
    // Block style, `not` inside `not`: 100 levels (YAML itself allows 128).
    let mut rule = String::from("id: nested\nlanguage: python\nrule:\n  kind: identifier\n");
    let mut indent = String::from("  ");
    for _ in 0..100 {
        rule.push_str(&format!("{indent}not:\n"));
        indent.push_str("  ");
    }
    rule.push_str(&format!("{indent}kind: integer\n"));
    assert_refused(
        "100 nested `not`",
        &rule,
        5,
        "rule objects nest more than 64 levels deep",
    );
    // Flow style, far past what YAML may nest.
    let n = 5_000;
    let rule = format!(
        "id: nested\nlanguage: python\nrule:\n  kind: identifier\n  all:\n    - {}{{kind: integer}}{}\n",
        "{not: ".repeat(n),
        "}".repeat(n)
    );
    assert_refused(
        "5,000 nested `not`",
        &rule,
        6,
        "YAML nests more than 128 levels deep",
    );
}

#[test]
fn deep_yaml_flow_nesting_is_refused_quickly() {
    // libyaml's scanner is quadratic in flow nesting: this took minutes.
    let n = 1_000_000;
    let rule = format!(
        "id: flow\nlanguage: python\nrule:\n  kind: identifier\n  regex: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let start = Instant::now();
    assert_refused(
        "1,000,000 nested `[`",
        &rule,
        5,
        "YAML nests more than 128 levels deep",
    );
    assert!(start.elapsed() < Duration::from_secs(30), "too slow");
}

#[test]
fn rule_file_over_the_size_limit_is_refused() {
    // 50 MB: a valid rule with one huge pattern, which took 10 GB and a
    // minute to compile before.
    let args = "a, ".repeat(17_000_000);
    let rule = format!("id: big\nlanguage: python\nrule:\n  pattern: f({args}a)\nfix: X\n");
    assert!(rule.len() > 50_000_000);
    assert_refused(
        "50 MB rule file",
        &rule,
        1,
        "more than the limit of 4 MiB for rule files",
    );
}

#[test]
fn rules_ast_grep_accepts_still_load() {
    let cases = [
        ("any: [] matches nothing", "rule: {any: []}"),
        (
            "an empty all beside a kind",
            "rule: {kind: identifier, all: []}",
        ),
        ("nthChild: 0", "rule: {kind: identifier, nthChild: 0}"),
        (
            "nthChild ofRule fixes the kind",
            "rule: {nthChild: {position: 1, ofRule: {kind: identifier}}}",
        ),
        (
            "a util fixes the kind",
            "utils:\n  id: {kind: identifier}\nrule: {matches: id}",
        ),
        (
            "utils in a chain (no cycle)",
            "utils:\n  a: {kind: identifier, matches: b}\n  b: {regex: '^a$'}\nrule: {matches: a}",
        ),
        (
            "util recursing through inside only",
            "utils:\n  a: {any: [{kind: module}, {inside: {matches: a}}]}\nrule: {kind: identifier, matches: a}",
        ),
        (
            "util recursing through has only",
            "utils:\n  a: {any: [{kind: integer}, {has: {matches: a}}]}\nrule: {kind: call, matches: a}",
        ),
        (
            "util recursing through inside and precedes",
            "utils:\n  a: {any: [{kind: integer}, {inside: {precedes: {matches: a}}}]}\nrule: {kind: identifier, matches: a}",
        ),
        (
            "a util in a stopBy",
            "utils:\n  a: {kind: identifier, inside: {kind: module, stopBy: {matches: a}}}\nrule: {kind: identifier, matches: a}",
        ),
        (
            "constraint on a variable bound inside `inside`",
            "rule:\n  pattern: $X + $Y\n  inside: {pattern: $V = $$$, stopBy: end}\nconstraints:\n  V: {kind: identifier}",
        ),
        (
            "constraint on a variable bound by a util",
            "utils:\n  u: {pattern: $W}\nrule:\n  pattern: $X + $Y\n  has: {matches: u}\nconstraints:\n  W: {kind: identifier}",
        ),
        (
            "constraint on a variable bound by another constraint",
            "rule: {pattern: $X + $Y}\nconstraints:\n  X: {pattern: $Z}\n  Z: {kind: identifier}",
        ),
        (
            "transform using a later transform",
            "rule: {pattern: $X + $Y}\ntransform:\n  A: {substring: {source: $B, startChar: 1}}\n  B: {convert: {source: $X, toCase: upperCase}}\nfix: $A",
        ),
        (
            "transform of a util's variable",
            "utils:\n  u: {pattern: $W}\nrule: {pattern: $X + $Y}\ntransform:\n  A: {substring: {source: $W, startChar: 1}}\nfix: $A",
        ),
        (
            "nthChild string positions",
            "rule: {kind: identifier, nthChild: '-n+3'}",
        ),
    ];
    for (name, body) in cases {
        assert_accepted(name, &format!("id: ok\nlanguage: python\n{body}\n"));
    }
}
