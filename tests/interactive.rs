//! `refactor apply --interactive` driven through a real pseudo-terminal
//! (rexpect): every key, the files on disk afterwards, the editor, the
//! low-confidence suggestion of a hole, `--commit`, and the refusal without a
//! terminal. Fixtures: fixtures/interactive/ (see its README).

#![cfg(unix)]

mod common;

use common::repo::{git, Sandbox};
use common::*;
use rexpect::process::WaitStatus;
use rexpect::session::{spawn_command, PtySession};
use std::path::Path;
use std::process::Command;

const A_PY: &str = "def check(x, y):
    if x == None:
        return 1
    if y == None:
        return 2
    return x == None
";
const B_PY: &str = "z = None\nif z == None:\n    print(z)\n";
const PROMPT: &str = "Accept this edit [y,n,a,A,q,e,?]? ";

fn eq_rule() -> String {
    fixture("interactive/eq-none.yml")
        .to_string_lossy()
        .into_owned()
}

/// `refactor apply --interactive ARGS` in `cwd` on a pseudo-terminal.
fn spawn(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_refactor"));
    cmd.arg("apply")
        .arg("--interactive")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env_remove("GIT_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_command(cmd, Some(60_000)).expect("spawn on a pty")
}

/// Waits for the next prompt (and everything before it); returns that text.
fn prompt(p: &mut PtySession) -> String {
    p.exp_string(PROMPT).expect("a prompt")
}

fn key(p: &mut PtySession, k: &str) {
    p.send(k).expect("send");
    p.flush().expect("flush");
}

/// Waits for the end; returns the rest of the output and the exit code.
fn finish(p: &mut PtySession) -> (String, i32) {
    let rest = p.exp_eof().expect("eof");
    match p.process().wait().expect("wait") {
        WaitStatus::Exited(_, code) => (rest, code),
        other => panic!("not exited: {other:?}\n{rest}"),
    }
}

fn app() -> tempfile::TempDir {
    copy_fixture("interactive/app")
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("read")
}

#[test]
fn y_and_n_write_exactly_the_accepted_edits() {
    let dir = app();
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "."], &[]);
    let first = prompt(&mut p);
    assert!(first.contains("a.py:2 [eq-none]"), "{first}");
    assert!(first.contains("Compare with None using `is`"), "{first}");
    assert!(first.contains("-    if x == None:"), "{first}");
    assert!(first.contains("+    if x is None:"), "{first}");
    assert!(first.contains("(1/4)"), "{first}");
    key(&mut p, "y");
    assert!(prompt(&mut p).contains("a.py:4"));
    key(&mut p, "n");
    assert!(prompt(&mut p).contains("a.py:6"));
    key(&mut p, "y");
    assert!(prompt(&mut p).contains("b.py:2"));
    key(&mut p, "n");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("2 of 4 edit(s) accepted"), "{rest}");
    assert_eq!(
        read(dir.path(), "a.py"),
        A_PY.replace("if x == None", "if x is None")
            .replace("return x == None", "return x is None")
    );
    assert_eq!(read(dir.path(), "b.py"), B_PY);
}

#[test]
fn a_accepts_the_rest_of_the_file_only() {
    let dir = app();
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "."], &[]);
    prompt(&mut p);
    key(&mut p, "n");
    prompt(&mut p);
    key(&mut p, "a");
    // The next prompt is b.py's: a.py's last edit was accepted without asking.
    assert!(prompt(&mut p).contains("b.py:2"));
    key(&mut p, "n");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert_eq!(
        read(dir.path(), "a.py"),
        A_PY.replace("y == None", "y is None")
            .replace("return x == None", "return x is None")
    );
    assert_eq!(read(dir.path(), "b.py"), B_PY);
}

#[test]
fn capital_a_accepts_everything_that_remains() {
    let dir = app();
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "."], &[]);
    prompt(&mut p);
    key(&mut p, "n");
    prompt(&mut p);
    key(&mut p, "A");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(!rest.contains(PROMPT), "{rest}");
    assert_eq!(
        read(dir.path(), "a.py"),
        A_PY.replace("y == None", "y is None")
            .replace("return x == None", "return x is None")
    );
    assert_eq!(
        read(dir.path(), "b.py"),
        B_PY.replace("z == None", "z is None")
    );
}

#[test]
fn q_writes_what_was_accepted_and_stops() {
    let dir = app();
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "."], &[]);
    prompt(&mut p);
    key(&mut p, "y");
    prompt(&mut p);
    key(&mut p, "q");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("stopped with q"), "{rest}");
    assert_eq!(
        read(dir.path(), "a.py"),
        A_PY.replacen("x == None", "x is None", 1)
    );
    assert_eq!(read(dir.path(), "b.py"), B_PY);
    // Nothing of the run is left beside the files.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".refactor-")),
        "{names:?}"
    );
}

#[test]
fn ctrl_c_stops_without_writing() {
    let dir = app();
    let before = snapshot(dir.path());
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "."], &[]);
    prompt(&mut p);
    key(&mut p, "y");
    prompt(&mut p);
    key(&mut p, "\u{3}");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 130, "{rest}");
    assert!(rest.contains("nothing was changed"), "{rest}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn help_and_unknown_keys_ask_again() {
    let dir = app();
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "a.py"], &[]);
    prompt(&mut p);
    key(&mut p, "?");
    let help = prompt(&mut p);
    assert!(help.contains("y - accept this edit"), "{help}");
    assert!(help.contains("(1/3)"), "{help}");
    key(&mut p, "x");
    assert!(prompt(&mut p).contains("(1/3)"));
    key(&mut p, "q");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert_eq!(read(dir.path(), "a.py"), A_PY);
}

#[test]
fn e_uses_the_edited_replacement_and_refuses_one_that_breaks_the_file() {
    let dir = app();
    let state = tempfile::tempdir().expect("tempdir");
    let counter = state.path().join("calls");
    let editor = format!("sh {}", fixture("interactive/editor.sh").to_string_lossy());
    let env = [
        ("EDITOR", editor.as_str()),
        ("EDIT_STATE", counter.to_str().expect("utf-8")),
        // First edit: the file would no longer parse. Second: fine.
        ("EDIT_TEXT_1", "x is ("),
        ("EDIT_TEXT_2", "x is not None"),
    ];
    let mut p = spawn(dir.path(), &["--rule", &eq_rule(), "a.py"], &env);
    prompt(&mut p);
    key(&mut p, "e");
    let again = prompt(&mut p);
    assert!(again.contains("no longer parses"), "{again}");
    assert!(again.contains("(1/3)"), "{again}");
    key(&mut p, "e");
    assert!(prompt(&mut p).contains("(2/3)"));
    key(&mut p, "n");
    prompt(&mut p);
    key(&mut p, "y");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    // The editor was given the replacement, without a newline of ours.
    let seen = std::fs::read_to_string(state.path().join("calls.seen-1")).expect("seen");
    assert_eq!(seen, "x is None");
    assert_eq!(
        read(dir.path(), "a.py"),
        A_PY.replacen("x == None", "x is not None", 1)
            .replace("return x == None", "return x is None")
    );
}

fn holes_dir() -> tempfile::TempDir {
    copy_fixture("interactive/holes")
}

fn holes_args() -> Vec<String> {
    vec![
        "--rule".into(),
        root()
            .join("rules/holes/py-return-type.yml")
            .to_string_lossy()
            .into_owned(),
        "--model".into(),
        fixture("models/lookup").to_string_lossy().into_owned(),
        ".".into(),
    ]
}

#[test]
fn a_low_confidence_fill_is_a_suggestion_written_only_when_accepted() {
    let dir = holes_dir();
    let original = read(dir.path(), "shop.py");
    let args = holes_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = spawn(dir.path(), &args, &[]);
    let first = prompt(&mut p);
    assert!(first.contains("+def total(prices) -> AB:"), "{first}");
    assert!(
        first.contains("hole $?RET = `AB` (suggestion, confidence 0.46, below the threshold 0.93"),
        "{first}"
    );
    key(&mut p, "n");
    prompt(&mut p);
    key(&mut p, "y");
    prompt(&mut p);
    key(&mut p, "n");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("(1 low-confidence suggestion(s))"), "{rest}");
    assert_eq!(
        read(dir.path(), "shop.py"),
        original.replace("def first(items):", "def first(items) -> AB:")
    );
}

#[test]
fn capital_a_leaves_unseen_suggestions_out() {
    let dir = holes_dir();
    let original = read(dir.path(), "shop.py");
    let args = holes_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = spawn(dir.path(), &args, &[]);
    prompt(&mut p);
    key(&mut p, "A");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("2 suggestion(s) left out by a/A"), "{rest}");
    assert_eq!(
        read(dir.path(), "shop.py"),
        original.replace("def total(prices):", "def total(prices) -> AB:")
    );
}

#[test]
fn a_confident_fill_shows_its_confidence() {
    let dir = holes_dir();
    let original = read(dir.path(), "shop.py");
    let mut args = holes_args();
    args.extend(["--threshold".into(), "0.4".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut p = spawn(dir.path(), &args, &[]);
    let first = prompt(&mut p);
    assert!(
        first.contains("hole $?RET = `AB` (model fill, confidence 0.46)"),
        "{first}"
    );
    key(&mut p, "a");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert_eq!(
        read(dir.path(), "shop.py"),
        original.replace("):\n", ") -> AB:\n")
    );
}

#[test]
fn with_commit_the_accepted_edits_are_committed() {
    let s = Sandbox::new();
    s.write("a.py", A_PY);
    s.write("b.py", B_PY);
    let base = s.commit_all("base");
    let mut p = spawn(
        &s.repo(),
        &["--commit", "--rule", &s.rule("eq.yml"), "."],
        &[],
    );
    prompt(&mut p);
    key(&mut p, "y");
    prompt(&mut p);
    key(&mut p, "q");
    let (rest, code) = finish(&mut p);
    assert_eq!(code, 0, "{rest}");
    assert!(rest.contains("committed 1 file(s)"), "{rest}");
    let head = s.head();
    assert_ne!(head, base);
    let changed = git(&s.repo(), &["diff", "--name-only", &base, &head]);
    assert_eq!(changed.trim(), "a.py");
    let committed = git(&s.repo(), &["show", "HEAD:a.py"]);
    assert_eq!(committed, A_PY.replacen("x == None", "x is None", 1));
    assert_eq!(git(&s.repo(), &["status", "--porcelain"]).trim(), "");
}

#[test]
fn without_a_terminal_it_refuses_and_writes_nothing() {
    let dir = app();
    let before = snapshot(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_refactor"))
        .args(["apply", "--interactive", "--rule", &eq_rule(), "."])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("--interactive needs a terminal"), "{err}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn interactive_conflicts_with_write_and_json() {
    for flag in ["--write", "--json"] {
        let out = refactor(
            &root(),
            &["apply", "--interactive", flag, "--rule", &eq_rule(), "."],
        );
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}
