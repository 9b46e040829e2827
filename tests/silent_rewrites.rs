//! Regression tests for rewrites that used to be silently wrong: a `\` line
//! continuation captured into a metavariable (the operand after it was
//! dropped), and comments deleted by a fix without a word.

mod common;

use common::*;

fn write_rule(dir: &std::path::Path, yaml: &str) -> String {
    let p = dir.join("r.yml");
    std::fs::write(&p, yaml).expect("write rule");
    p.to_string_lossy().into_owned()
}

#[test]
fn line_continuation_is_not_captured_and_write_keeps_both_operands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("t");
    std::fs::create_dir(&src).expect("mkdir");
    std::fs::write(src.join("a.py"), "x = a + \\\n    b\n").expect("write");
    std::fs::write(src.join("b.py"), "if (y == \\\n        None):\n    pass\n").expect("write");
    let rule = write_rule(
        dir.path(),
        "id: swap\nlanguage: python\nrule:\n  pattern: $A + $B\nfix: $B + $A\n---\n\
         id: eq\nlanguage: python\nrule:\n  pattern: $A == $B\nfix: $B == $A\n",
    );
    let out = refactor(dir.path(), &["apply", "--write", "--rule", &rule, "t"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // ast-grep 0.51.1 writes exactly these.
    assert_eq!(
        std::fs::read_to_string(src.join("a.py")).expect("read"),
        "x = b + a\n"
    );
    assert_eq!(
        std::fs::read_to_string(src.join("b.py")).expect("read"),
        "if (None == y):\n    pass\n"
    );
    assert!(!stderr(&out).contains("parse errors"), "{}", stderr(&out));
}

#[test]
fn a_fix_that_deletes_a_comment_says_so_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.py"),
        "import os\ny = (foo()\n  # keep me\n  .bar())\n",
    )
    .expect("write");
    let rule = write_rule(
        dir.path(),
        "id: chain\nlanguage: python\nrule:\n  pattern: $X.bar()\nfix: $X.baz()\n",
    );
    let out = refactor(dir.path(), &["apply", "--rule", &rule, "c.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+y = (foo().baz())"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("warning: c.py:3: the fix deletes a comment")
            && stderr(&out).contains("# keep me"),
        "{}",
        stderr(&out)
    );
    let out = refactor(dir.path(), &["apply", "--json", "--rule", &rule, "c.py"]);
    let rec: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().expect("one record")).expect("json");
    assert_eq!(
        rec["warnings"][0]["line"], 2,
        "0-based, like every JSON line"
    );
    assert_eq!(rec["warnings"][0]["text"], "# keep me");
}

/// Flags that would turn the confidence gate off (`--threshold NaN` or
/// `-1`) or that make no sense (`--tau 2`, even with no hole rule) are
/// refused before any work: exit 2, naming the flag, nothing written.
#[test]
fn out_of_range_model_flags_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.py"), "if x == None:\n    pass\n").expect("write");
    let rule = write_rule(
        dir.path(),
        "id: is-none\nlanguage: python\nrule:\n  pattern: $A == None\nfix: $A is None\n",
    );
    for (flag, value) in [
        ("--threshold", "NaN"),
        ("--threshold", "-1"),
        ("--threshold", "1.5"),
        ("--tau", "2"),
        ("--tau", "0"),
        ("--tau", "nan"),
    ] {
        let out = refactor(
            dir.path(),
            &["apply", "--write", "--rule", &rule, flag, value, "a.py"],
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(
            stderr(&out).contains(flag),
            "{flag} {value}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.py")).expect("read"),
            "if x == None:\n    pass\n",
            "{flag} {value} wrote"
        );
    }
}

/// `--threads 1000` on two cores used to run for minutes: it is capped at
/// four threads per core, with a note.
#[test]
fn absurd_thread_counts_are_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..14 {
        std::fs::write(dir.path().join(format!("m{i}.py")), "y = x == None\n").expect("write");
    }
    let rule = write_rule(
        dir.path(),
        "id: is-none\nlanguage: python\nrule:\n  pattern: $A == None\nfix: $A is None\n",
    );
    let out = refactor(
        dir.path(),
        &[
            "apply",
            "--write",
            "--threads",
            "1000",
            "--rule",
            &rule,
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--threads 1000 capped at"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m13.py")).expect("read"),
        "y = x is None\n"
    );
}
