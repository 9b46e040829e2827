//! The dry-run diff (and `check --format diff`) must be a patch `git apply`
//! accepts and that gives exactly the files `--write` gives, also for the
//! inputs that used to produce corrupt patches: an emptied first line
//! followed by a blank line, a lone CR line ending, and a file name with a
//! newline in it.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs")
}

fn check_patch_equals_write(name: &str, text: &str, rule: &str) {
    // One tree gets the dry-run diff through `git apply`, the other `--write`.
    let via_patch = tempfile::tempdir().expect("tempdir");
    let via_write = tempfile::tempdir().expect("tempdir");
    for d in [via_patch.path(), via_write.path()] {
        assert!(git(d, &["init", "-q"]).status.success());
        std::fs::write(d.join(name), text).expect("write source");
        std::fs::write(d.join("r.yml"), rule).expect("write rule");
    }
    let out = refactor(via_patch.path(), &["apply", "--rule", "r.yml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch = stdout(&out);
    assert!(!patch.is_empty(), "{name:?}: nothing to change");
    let check = refactor(
        via_patch.path(),
        &["check", "--rule", "r.yml", "--format", "diff", "."],
    );
    assert_eq!(stdout(&check), patch, "check --format diff differs");
    std::fs::write(via_patch.path().join("p.diff"), &patch).expect("write patch");
    let applied = git(via_patch.path(), &["apply", "p.diff"]);
    assert!(
        applied.status.success(),
        "{name:?}: git apply refused:\n{patch}\n{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let out = refactor(
        via_write.path(),
        &["apply", "--write", "--rule", "r.yml", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(via_patch.path().join(name)).expect("read"),
        std::fs::read(via_write.path().join(name)).expect("read"),
        "{name:?}: patched and written files differ"
    );
}

const IS_NONE: &str =
    "id: is-none\nlanguage: python\nrule:\n  pattern: $A == None\nfix: $A is None\n";

#[test]
fn emptied_first_line_before_a_blank_line() {
    check_patch_equals_write(
        "a.py",
        "import os\n\nx = 1\n",
        "id: drop\nlanguage: python\nrule:\n  pattern: import os\nfix: ''\n",
    );
}

#[test]
fn lone_carriage_return_inside_a_line() {
    check_patch_equals_write("cr.py", "s = 'a\rb' if x == None else 1\ny = 2\n", IS_NONE);
}

#[test]
fn file_name_with_a_newline_is_quoted() {
    check_patch_equals_write("we\nird.py", "if x == None:\n    pass\n", IS_NONE);
}

#[test]
fn last_line_without_newline() {
    check_patch_equals_write("end.py", "y = 1\nok = x == None", IS_NONE);
}

#[test]
fn file_name_with_a_backslash_is_that_file() {
    // On Unix `a\b.py` is one file in the top folder, not `a/b.py`.
    check_patch_equals_write("a\\b.py", "ok = x == None\n", IS_NONE);
}

/// `--commit` of files named `a\b.py` commits exactly that file (it used to
/// refuse it as dirty, or with `--allow-dirty` commit a file `a/b.py` that
/// does not exist); a file whose name is not UTF-8 is skipped with a note,
/// never rewritten under another name.
#[cfg(unix)]
#[test]
fn odd_file_names_commit_as_themselves_or_are_skipped() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    assert!(git(d, &["init", "-q"]).status.success());
    for args in [
        &["config", "user.email", "t@example.com"][..],
        &["config", "user.name", "t"],
    ] {
        assert!(git(d, args).status.success());
    }
    std::fs::write(d.join("a\\b.py"), "ok = x == None\n").expect("write");
    let raw = std::ffi::OsStr::from_bytes(b"\xff.py");
    std::fs::write(d.join(raw), "ok = y == None\n").expect("write");
    std::fs::write(d.join("r.yml"), IS_NONE).expect("write rule");
    assert!(git(d, &["add", "-A"]).status.success());
    assert!(git(d, &["commit", "-qm", "init"]).status.success());
    let out = refactor(d, &["apply", "--commit", "--rule", "r.yml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not valid UTF-8"),
        "the non-UTF-8 name is skipped with a note: {}",
        stderr(&out)
    );
    let shown = git(d, &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(String::from_utf8_lossy(&shown.stdout), "\"a\\\\b.py\"\n");
    let status = git(d, &["status", "--porcelain"]);
    assert_eq!(String::from_utf8_lossy(&status.stdout), "", "clean tree");
    assert_eq!(
        std::fs::read_to_string(d.join("a\\b.py")).expect("read"),
        "ok = x is None\n"
    );
    assert_eq!(
        std::fs::read(d.join(raw)).expect("read"),
        b"ok = y == None\n"
    );
}
