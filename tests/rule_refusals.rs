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
