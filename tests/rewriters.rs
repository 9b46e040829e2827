//! `rewriters:` and the `rewrite` transform give ast-grep 0.51.1's files
//! (fixtures/rewriters/: each expected file was written by ast-grep itself),
//! and misuse is refused with `path:line`.

mod common;

use common::*;

#[test]
fn rewriters_write_what_ast_grep_writes() {
    for case in ["r1", "r2", "r3", "r4"] {
        let dir = copy_fixture("rewriters");
        let out = refactor(
            dir.path(),
            &["apply", "--write", "--rule", &format!("{case}.yml"), "a.py"],
        );
        assert_eq!(out.status.code(), Some(0), "{case}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
            std::fs::read_to_string(fixture("rewriters").join(format!("{case}.expected.py")))
                .expect("read expected"),
            "{case}"
        );
    }
}

#[test]
fn rewriter_misuse_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.py"), "foo(1)\n").expect("write");
    let cases = [
        (
            "transform:\n  N:\n    rewrite:\n      source: $$$A\n      rewriters: [nope]\nfix: foo($N)\n",
            "no rewriter with id `nope`",
        ),
        (
            "rewriters:\n  - id: r\n    rule: {kind: integer}\n    utils: {u: {kind: integer}}\n    fix: x\ntransform:\n  N:\n    rewrite:\n      source: $$$A\n      rewriters: [r]\nfix: foo($N)\n",
            "`utils`",
        ),
        (
            "rewriters:\n  - id: r\n    rule: {kind: integer}\n    fix: $Q\ntransform:\n  N:\n    rewrite:\n      source: $$$A\n      rewriters: [r]\nfix: foo($N)\n",
            "undefined metavariable `$Q`",
        ),
    ];
    for (tail, want) in cases {
        let rule = format!("id: t\nlanguage: python\nrule:\n  pattern: foo($$$A)\n{tail}");
        std::fs::write(dir.path().join("r.yml"), &rule).expect("write rule");
        let out = refactor(dir.path(), &["apply", "--write", "--rule", "r.yml", "a.py"]);
        assert_eq!(out.status.code(), Some(2), "{rule}");
        assert!(
            stderr(&out).contains("r.yml:") && stderr(&out).contains(want),
            "{want}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
            "foo(1)\n"
        );
    }
}

/// A multi-line transformed value (replace, substring, rewrite) is
/// re-indented from the indentation of the line its source starts on, like
/// a metavariable's value (ast-grep 0.51.1's output for each).
#[test]
fn multi_line_transformed_values_are_reindented_like_their_source() {
    let code = "def g():\n    return f(foo(1),\n               bar(2))\n";
    let want = "def g():\n    return h(foo(1),\n               bar(2))\n";
    let transforms = [
        "replace:\n      source: $$$A\n      replace: zzz\n      by: q",
        "substring:\n      source: $$$A\n      startChar: 0",
        "rewrite:\n      source: $$$A\n      rewriters: [r]",
    ];
    for t in transforms {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.py"), code).expect("write");
        let rule = format!(
            "id: t\nlanguage: python\nrule:\n  pattern: f($$$A)\nrewriters:\n  - id: r\n    rule: {{kind: integer, pattern: $N}}\n    fix: $N\ntransform:\n  B:\n    {t}\nfix: h($B)\n"
        );
        std::fs::write(dir.path().join("r.yml"), rule).expect("write rule");
        let out = refactor(dir.path(), &["apply", "--write", "--rule", "r.yml", "a.py"]);
        assert_eq!(out.status.code(), Some(0), "{t}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
            want,
            "{t}"
        );
    }
}
