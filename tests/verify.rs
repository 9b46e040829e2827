//! `--verify mypy|cargo`: the type checker as the last gate for hole fills, end to
//! end with the real checkers and the hand-built `lookup` model (every fill is `AB`
//! at confidence 0.4607, so these runs pass `--threshold 0.4`). See
//! fixtures/verify/README.md for what each fixture expects.
//!
//! mypy comes from PyPI (`.ci/run` installs it). Without it the mypy tests print
//! SKIPPED, unless REFACTOR_REQUIRE_MYPY=1 (set by `.ci/run` after a successful
//! install), when a missing mypy fails them.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn lookup() -> String {
    fixture("models/lookup").to_string_lossy().into_owned()
}

fn py_rule() -> String {
    root()
        .join("rules/holes/py-return-type.yml")
        .to_string_lossy()
        .into_owned()
}

fn rs_rule() -> String {
    fixture("verify/rs-let-type.yml")
        .to_string_lossy()
        .into_owned()
}

/// Whether mypy runs here (`python3 -m mypy` or `mypy`); SKIPPED otherwise,
/// or a failure when REFACTOR_REQUIRE_MYPY=1.
fn have_mypy() -> bool {
    let runs = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs("python3", &["-m", "mypy"]) || runs("mypy", &[]) {
        return true;
    }
    if std::env::var("REFACTOR_REQUIRE_MYPY").as_deref() == Ok("1") {
        panic!("REFACTOR_REQUIRE_MYPY=1 but neither `python3 -m mypy` nor `mypy` runs");
    }
    eprintln!("SKIPPED: mypy is not installed (python3 -m pip install mypy)");
    false
}

/// `refactor ARGS` with the lookup model and threshold 0.4 prepended to the
/// command's own flags.
fn run(dir: &Path, cmd: &str, args: &[&str]) -> Output {
    let m = lookup();
    let mut all = vec![cmd, "--model", m.as_str(), "--threshold", "0.4"];
    all.extend_from_slice(args);
    refactor(dir, &all)
}

fn holes(out: &Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
        .flat_map(|r| r["holes"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("read")
}

#[test]
fn mypy_keeps_a_fill_that_checks_and_drops_the_ones_that_add_errors() {
    if !have_mypy() {
        return;
    }
    let dir = copy_fixture("verify/py");
    let out = run(
        dir.path(),
        "apply",
        &["--rule", &py_rule(), "--verify", "mypy", "--write", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shapes = read(dir.path(), "app/shapes.py");
    // `make` returns an AB: kept. `count` returns an int: mypy reports it at
    // the `return` line, inside `count`, so that fill alone is dropped.
    assert!(shapes.contains("def make(size: int) -> AB:\n"), "{shapes}");
    assert!(shapes.contains("def count(items: list[AB]):\n"), "{shapes}");
    // No AB in scope: the name check turns the fill down before mypy runs.
    assert_eq!(
        read(dir.path(), "app/plain.py"),
        read(&fixture("verify/py"), "app/plain.py")
    );
    let err = stderr(&out);
    assert!(
        err.contains(
            "app/shapes.py:10:10: rejected[py-return-type]: hole RET fill -> AB rejected: type \
             check: mypy: line 14: Incompatible return value type (got \"int\", expected \"AB\") \
             [return-value] (not applied)"
        ),
        "{err}"
    );
    assert!(
        err.contains("app/plain.py:1:11: rejected[py-return-type]: hole RET fill -> AB rejected: fill names `AB`, which the file neither defines, imports nor uses (not applied)"),
        "{err}"
    );
    assert!(
        err.contains("type check (mypy): 2 fill(s) in 1 file(s) checked, 1 dropped"),
        "{err}"
    );
    // mypy's cache and shadow files went to a temporary folder.
    let mut left: Vec<_> = snapshot(dir.path()).into_keys().collect();
    left.sort();
    assert_eq!(
        left,
        vec![Path::new("app/plain.py"), Path::new("app/shapes.py")]
    );

    // The control: without --verify every fill that names what its file knows
    // is written.
    let dir = copy_fixture("verify/py");
    let out = run(dir.path(), "apply", &["--rule", &py_rule(), "--write", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        read(dir.path(), "app/shapes.py").matches("-> AB:").count(),
        2
    );
    assert_eq!(
        read(dir.path(), "app/plain.py"),
        read(&fixture("verify/py"), "app/plain.py")
    );
}

#[test]
fn an_error_caused_from_another_file_waits_for_the_recheck() {
    if !have_mypy() {
        return;
    }
    // maker.py's `build() -> AB` returns an int (an error inside `build`);
    // user.py uses `build() + 1` in a class body, where nothing points at a
    // fill of user.py. Once build's fill is dropped that error is gone, so
    // user.py keeps its right fill.
    let dir = copy_fixture("verify/py-cross");
    let out = run(
        dir.path(),
        "apply",
        &["--rule", &py_rule(), "--verify", "mypy", "--write", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(read(dir.path(), "app/user.py").contains("    def make(self) -> AB:\n"));
    assert_eq!(
        read(dir.path(), "app/maker.py"),
        read(&fixture("verify/py-cross"), "app/maker.py")
    );
    let err = stderr(&out);
    assert!(
        err.contains("app/maker.py:5:10: rejected[py-return-type]: hole RET fill -> AB rejected: type check: mypy: line 6: Incompatible return value type"),
        "{err}"
    );
    assert!(
        err.contains("type check (mypy): 2 fill(s) in 2 file(s) checked, 1 dropped"),
        "{err}"
    );
}

#[test]
fn mypy_rejections_are_in_json_and_in_checks_reports() {
    if !have_mypy() {
        return;
    }
    let dir = copy_fixture("verify/py");
    let before = snapshot(dir.path());
    let out = run(
        dir.path(),
        "apply",
        &["--rule", &py_rule(), "--verify", "mypy", "--json", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let statuses: Vec<String> = holes(&out)
        .iter()
        .map(|h| h["status"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| *s == "applied").count(), 1);
    let rejected: Vec<&String> = statuses
        .iter()
        .filter(|s| s.starts_with("rejected: type check: mypy: "))
        .collect();
    assert_eq!(rejected.len(), 1, "{statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| s.starts_with("rejected: fill names `AB`"))
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(snapshot(dir.path()), before, "a dry run writes nothing");

    let out = run(
        dir.path(),
        "check",
        &["--rule", &py_rule(), "--verify", "mypy", "."],
    );
    // The rule's severity is `info`, below the default --fail-on error.
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("app/shapes.py:10:10: rejected[py-return-type]: hole RET fill -> AB rejected: type check: mypy: line 14:"),
        "{text}"
    );
    let out = run(
        dir.path(),
        "check",
        &[
            "--rule",
            &py_rule(),
            "--verify",
            "mypy",
            "--format",
            "json",
            ".",
        ],
    );
    let json = stdout(&out);
    assert_eq!(
        json.matches("rejected: type check: mypy").count(),
        1,
        "{json}"
    );
    let out = run(
        dir.path(),
        "check",
        &[
            "--rule",
            &py_rule(),
            "--verify",
            "mypy",
            "--format",
            "github",
            ".",
        ],
    );
    let gh = stdout(&out);
    assert_eq!(
        gh.matches("title=py-return-type type check::").count(),
        1,
        "{gh}"
    );
    assert_eq!(
        gh.matches("title=py-return-type rejected fill::").count(),
        1,
        "{gh}"
    );
    let out = run(
        dir.path(),
        "check",
        &[
            "--rule",
            &py_rule(),
            "--verify",
            "mypy",
            "--format",
            "sarif",
            ".",
        ],
    );
    let sarif: Value = serde_json::from_str(&stdout(&out)).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let rejected: Vec<&Value> = results
        .iter()
        .filter_map(|r| r["properties"]["typeCheckRejections"].as_array())
        .flatten()
        .collect();
    assert_eq!(rejected.len(), 1, "{sarif}");
    assert!(rejected
        .iter()
        .all(|t| t["checker"] == "mypy" && t["text"] == "AB"));
    let names: Vec<&Value> = results
        .iter()
        .filter_map(|r| r["properties"]["nameRejections"].as_array())
        .flatten()
        .collect();
    assert_eq!(names.len(), 1, "{sarif}");
    assert!(names[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("fill names `AB`"));
    // A dropped fill is never offered as a SARIF fix; the kept one is.
    assert_eq!(
        results.iter().filter(|r| r.get("fixes").is_some()).count(),
        1
    );
    // The diff holds the one fill that passed.
    let out = run(
        dir.path(),
        "check",
        &[
            "--rule",
            &py_rule(),
            "--verify",
            "mypy",
            "--format",
            "diff",
            ".",
        ],
    );
    let diff = stdout(&out);
    assert!(diff.contains("+def make(size: int) -> AB:"), "{diff}");
    assert_eq!(diff.matches("\n+def").count(), 1, "{diff}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn a_missing_mypy_is_an_error_and_nothing_is_written() {
    let dir = copy_fixture("verify/py");
    let before = snapshot(dir.path());
    let m = lookup();
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_refactor"))
        .args([
            "apply",
            "--model",
            &m,
            "--threshold",
            "0.4",
            "--rule",
            &py_rule(),
            "--verify",
            "mypy",
            "--write",
            ".",
        ])
        .current_dir(dir.path())
        .env("PATH", empty.path())
        .env_remove("REFACTOR_MYPY")
        .output()
        .expect("run refactor");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("python3 -m pip install mypy"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(snapshot(dir.path()), before);

    // A REFACTOR_MYPY that does not run is named.
    let out = Command::new(env!("CARGO_BIN_EXE_refactor"))
        .args(["check", "--rule", &py_rule(), "--verify", "mypy", "."])
        .current_dir(dir.path())
        .env("REFACTOR_MYPY", "/nonexistent/mypy")
        .output()
        .expect("run refactor");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("REFACTOR_MYPY"), "{}", stderr(&out));
}

#[test]
fn eval_measures_what_mypy_does_to_precision() {
    if !have_mypy() {
        return;
    }
    let eval = |extra: &[&str]| -> Value {
        let m = lookup();
        let mut all = vec![
            "eval",
            "--model",
            m.as_str(),
            "--task",
            "py-return-type",
            "--threshold",
            "0.4",
        ];
        all.extend_from_slice(extra);
        all.push("fixtures/eval/py");
        let out = refactor(&root(), &all);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let so = stdout(&out);
        serde_json::from_str(so.lines().last().expect("a JSON line")).expect("json")
    };
    // Four sites (answers int, AB, float, str); every fill is AB.
    let plain = eval(&[]);
    assert_eq!(plain["applied"], 1.0);
    assert_eq!(plain["applied_precision"], 0.25);
    assert_eq!(plain["verify"], Value::Null);
    let checked = eval(&["--verify", "mypy"]);
    assert_eq!(checked["verify"], "mypy");
    assert_eq!(checked["applied"], 0.25, "{checked}");
    assert_eq!(checked["applied_precision"], 1.0, "{checked}");
    assert_eq!(checked["rejected_type_check"], 0.75, "{checked}");
    assert!(checked["verify_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn cargo_keeps_a_fill_that_checks_and_drops_a_mismatched_one() {
    let dir = copy_fixture("verify/rs");
    let out = run(
        dir.path(),
        "apply",
        &["--rule", &rs_rule(), "--verify", "cargo", "--write", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lib = read(dir.path(), "src/lib.rs");
    assert!(lib.contains("    let small: AB = 3;\n"), "{lib}");
    assert!(lib.contains("    let name = String::new();\n"), "{lib}");
    let err = stderr(&out);
    assert!(
        err.contains("src/lib.rs:9:5: rejected[rs-let-type]: hole TYPE fill -> AB rejected: type check: cargo: line 9: mismatched types [E0308]"),
        "{err}"
    );
    assert!(
        err.contains("type check (cargo): 2 fill(s) in 1 file(s) checked, 1 dropped"),
        "{err}"
    );
    // The crate was checked in a copy: no target/ or Cargo.lock appeared here.
    let mut left: Vec<_> = snapshot(dir.path()).into_keys().collect();
    left.sort();
    assert_eq!(left, vec![Path::new("Cargo.toml"), Path::new("src/lib.rs")]);
}

#[test]
fn cargo_without_the_alias_drops_every_fill() {
    let dir = copy_fixture("verify/rs");
    let lib = dir.path().join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).expect("read");
    write(&lib, &text.replace("pub type AB = u8;\n\n", ""));
    let before = snapshot(dir.path());
    let out = run(
        dir.path(),
        "apply",
        &["--rule", &rs_rule(), "--verify", "cargo", "--json", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let statuses: Vec<String> = holes(&out)
        .iter()
        .map(|h| h["status"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    for s in &statuses {
        assert!(
            s.starts_with("rejected: type check: cargo: line ")
                && s.contains("cannot find type `AB` in this scope [E0"),
            "{s}"
        );
    }
    assert_eq!(snapshot(dir.path()), before);
}
