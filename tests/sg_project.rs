//! An ast-grep project (fixtures/sg-project: sgconfig.yml, Python and
//! TypeScript rule folders, global utils, tests with snapshots that ast-grep
//! 0.51.1 generated and passes) run unchanged: `refactor test` passes it and
//! writes the same snapshot bytes, `refactor apply --write` writes the files
//! `ast-grep scan -U` wrote (fixtures/sg-project-expected/), with no `--rule`.

mod common;

use common::{copy_fixture, fixture, refactor, snapshot, stderr, stdout, write};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files under `dir/sub`, keyed by their path below `dir`.
fn files_under(dir: &Path, sub: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(&dir.join(sub))
        .into_iter()
        .map(|(p, b)| (Path::new(sub).join(p), b))
        .collect()
}

fn expected_src() -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(&fixture("sg-project-expected"), "src")
}

fn original_src() -> BTreeMap<PathBuf, Vec<u8>> {
    files_under(&fixture("sg-project"), "src")
}

fn ok(out: &std::process::Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn project_tests_pass_with_the_snapshots_ast_grep_wrote() {
    let dir = copy_fixture("sg-project");
    let out = refactor(dir.path(), &["test"]);
    ok(&out);
    assert_eq!(stdout(&out), "22 passed, 0 failed\n");
    // Nothing is written without --update-all.
    assert_eq!(snapshot(dir.path()), snapshot(&fixture("sg-project")));
}

#[test]
fn update_all_writes_the_bytes_ast_grep_writes() {
    let dir = copy_fixture("sg-project");
    let snaps = dir.path().join("rule-tests/__snapshots__");
    std::fs::remove_dir_all(&snaps).unwrap();

    let out = refactor(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("[no-var] snapshot differs for the invalid case\n    var a = 1\n  expected:\n    (no snapshot; --update-all writes one)\n  got:\n    fixed: let a = 1;\n"),
        "{text}"
    );
    assert!(text.ends_with("11 passed, 11 failed\n"), "{text}");

    let out = refactor(dir.path(), &["test", "-U"]);
    ok(&out);
    assert!(stdout(&out).ends_with("22 passed, 0 failed\n"));
    assert_eq!(
        snapshot(&snaps),
        snapshot(&fixture("sg-project/rule-tests/__snapshots__"))
    );
    // A second run has nothing to update.
    let out = refactor(dir.path(), &["test", "--update-all"]);
    ok(&out);
    assert_eq!(stdout(&out), "22 passed, 0 failed\n");
}

#[test]
fn failing_cases_are_reported_with_expected_and_actual() {
    let dir = copy_fixture("sg-project");
    let snap = dir
        .path()
        .join("rule-tests/__snapshots__/yoda-condition-snapshot.yml");
    let text = std::fs::read_to_string(&snap).unwrap();
    std::fs::write(&snap, text.replace("fixed: x == 1", "fixed: x == 2")).unwrap();
    write(
        &dir.path().join("rule-tests/more-test.yml"),
        "id: ne-none\nvalid:\n  - y != None\ninvalid:\n  - y != 2\n",
    );
    let out = refactor(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "FAIL rule-tests/yoda-condition-test.yml:1 [yoda-condition] snapshot differs for \
             the invalid case\n    1 == x\n  expected:\n    fixed: x == 2\n"
        ),
        "{text}"
    );
    assert!(text.contains("  got:\n    fixed: x == 1\n"), "{text}");
    assert!(
        text.contains(
            "FAIL rule-tests/more-test.yml:1 [ne-none] valid case matched 1 time(s):\n    y != None\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "FAIL rule-tests/more-test.yml:1 [ne-none] invalid case did not match:\n    y != 2\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("21 passed, 3 failed\n"), "{text}");

    // --filter selects rule ids by regex.
    let out = refactor(dir.path(), &["test", "--filter", "^no-"]);
    ok(&out);
    assert_eq!(stdout(&out), "7 passed, 0 failed\n");
}

#[test]
fn apply_dry_run_writes_nothing_and_write_matches_ast_grep() {
    let dir = copy_fixture("sg-project");
    let out = refactor(dir.path(), &["apply"]);
    ok(&out);
    let diff = stdout(&out);
    for f in [
        "src/app.py",
        "src/util/helpers.py",
        "src/tool.pyw",
        "src/web/main.ts",
    ] {
        assert!(diff.contains(&format!("+++ b/{f}\n")), "{f}:\n{diff}");
    }
    assert!(!diff.contains("vendor"), "{diff}");
    assert!(diff.contains("+    if config == None:\n"), "{diff}");
    assert_eq!(files_under(dir.path(), "src"), original_src());

    let out = refactor(dir.path(), &["apply", "--write"]);
    ok(&out);
    assert_eq!(files_under(dir.path(), "src"), expected_src());
}

#[test]
fn apply_from_a_subfolder_finds_the_config_above() {
    let dir = copy_fixture("sg-project");
    // Only the working folder is walked (as ast-grep's default path `.`).
    let out = refactor(&dir.path().join("src/util"), &["apply", "--write"]);
    ok(&out);
    let got = files_under(dir.path(), "src");
    let want = expected_src();
    let helpers = Path::new("src/util/helpers.py");
    assert_eq!(got[helpers], want[helpers]);
    assert_eq!(
        got[Path::new("src/app.py")],
        original_src()[Path::new("src/app.py")]
    );
    // `ignores: [src/vendor/**]` is relative to the project folder, wherever
    // the run starts.
    let out = refactor(&dir.path().join("src/vendor"), &["apply", "--write"]);
    ok(&out);
    let out = refactor(&dir.path().join("src"), &["apply", "--write"]);
    ok(&out);
    assert_eq!(files_under(dir.path(), "src"), expected_src());
}

#[test]
fn config_flag_names_the_project_from_outside() {
    let dir = copy_fixture("sg-project");
    let outside = tempfile::tempdir().unwrap();
    let config = dir.path().join("sgconfig.yml");
    let project = dir.path().to_str().unwrap();
    let out = refactor(
        outside.path(),
        &["apply", "--write", "-c", config.to_str().unwrap(), project],
    );
    ok(&out);
    assert_eq!(files_under(dir.path(), "src"), expected_src());
    let out = refactor(
        outside.path(),
        &["test", "--config", config.to_str().unwrap()],
    );
    ok(&out);
    assert_eq!(stdout(&out), "22 passed, 0 failed\n");
    // Without a project and without --rule there is nothing to run.
    let out = refactor(outside.path(), &["apply", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no rules: pass --rule PATH"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unsupported_keys_are_errors_at_their_line() {
    for (key, line, why) in [
        (
            "customLanguages:\n  mylang:\n    libraryPath: x.so\n",
            12,
            "unsupported key `customLanguages`: custom tree-sitter languages cannot be loaded",
        ),
        (
            "languageInjections: []\n",
            12,
            "unsupported key `languageInjections`",
        ),
        (
            "ignores: [\"src/vendor/**\"]\n",
            12,
            "unsupported key `ignores`: ast-grep has no project-wide `ignores` either",
        ),
        (
            "rulDirs: [rules]\n",
            12,
            "unsupported key `rulDirs`: not a key of ast-grep's sgconfig.yml",
        ),
    ] {
        let dir = copy_fixture("sg-project");
        let config = dir.path().join("sgconfig.yml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(&config, format!("{text}{key}")).unwrap();
        let before = snapshot(dir.path());
        for args in [&["apply", "--write"][..], &["check"], &["test", "-U"]] {
            let out = refactor(dir.path(), args);
            assert_eq!(out.status.code(), Some(2), "{args:?} {key}");
            let err = stderr(&out);
            assert!(
                err.contains(&format!("sgconfig.yml:{line}: {why}")),
                "{args:?}: {err}"
            );
        }
        assert_eq!(snapshot(dir.path()), before, "{key}: nothing written");
        // Found from a subfolder, the path says where the file is.
        let out = refactor(&dir.path().join("src"), &["apply"]);
        assert!(
            stderr(&out).contains(&format!("../sgconfig.yml:{line}: ")),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn rule_flag_wins_over_rule_dirs_and_keeps_global_utils() {
    let dir = copy_fixture("sg-project");
    let out = refactor(
        dir.path(),
        &["apply", "--write", "--rule", "rules/python/ne-none.yml"],
    );
    ok(&out);
    let app = std::fs::read_to_string(dir.path().join("src/app.py")).unwrap();
    assert!(
        app.contains("if config.get(\"mode\") is not None:"),
        "{app}"
    );
    assert!(
        app.contains("if None == config:"),
        "only ne-none ran:\n{app}"
    );
    // A rule using a global util runs alone too.
    let out = refactor(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--rule",
            "rules/typescript/no-console.yml",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json = stdout(&out);
    assert_eq!(json.lines().count(), 1, "{json}");
    assert!(json.contains("\"rule\":\"no-console\""), "{json}");
}

#[test]
fn global_util_errors_name_their_file() {
    let dir = copy_fixture("sg-project");
    write(
        &dir.path().join("utils/literal.yml"),
        "id: literal\nlanguage: python\nrule:\n  kind: string\n---\nid: other\nlanguage: python\nrule:\n  kind: integer\n",
    );
    let out = refactor(dir.path(), &["apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("utils/literal.yml:6: a util file holds exactly one global util rule"),
        "{}",
        stderr(&out)
    );

    let dir = copy_fixture("sg-project");
    write(
        &dir.path().join("rules/typescript/uses-python-util.yml"),
        "id: uses-python-util\nlanguage: typescript\nrule:\n  kind: call_expression\n  has:\n    matches: literal\n",
    );
    let out = refactor(dir.path(), &["apply"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "rules/typescript/uses-python-util.yml:6: `matches` names unknown util rule `literal` \
             (`literal` is a global util for python, and this rule is for typescript)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_snapshot_file_is_an_error_at_its_line() {
    let dir = copy_fixture("sg-project");
    write(
        &dir.path()
            .join("rule-tests/__snapshots__/no-var-snapshot.yml"),
        "id: no-var\nsnapshots:\n  a:\n    labels: 3\n",
    );
    let out = refactor(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "rule-tests/__snapshots__/no-var-snapshot.yml:4: invalid snapshot file: expected \
             sequence start"
        ),
        "{}",
        stderr(&out)
    );
}

/// A rule with `labels:`: the snapshot ast-grep 0.51.1 wrote for it (labels
/// with messages, ordered by position) passes, and `-U` writes the same
/// bytes (fixtures/sg-labels/).
#[test]
fn labelled_rule_snapshots_match_ast_grep() {
    let dir = copy_fixture("sg-labels");
    let out = refactor(dir.path(), &["test"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let snap = dir.path().join("tests/__snapshots__/lab-snapshot.yml");
    let written_by_ast_grep = std::fs::read(&snap).expect("read snapshot");
    std::fs::remove_file(&snap).expect("remove snapshot");
    let out = refactor(dir.path(), &["test", "-U"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&snap).expect("read"), written_by_ast_grep);
}

/// YAML errors in sgconfig.yml and in rule test files name a line of the
/// file: lines count `\n` only (libyaml also breaks lines at a lone `\r`,
/// which pointed past the end of the file).
#[test]
fn yaml_errors_in_project_files_name_lines_of_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("sgconfig.yml"), "ruleDirs: [rules\r\r\r\r").expect("write");
    let out = refactor(dir.path(), &["test"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sgconfig.yml:1:"), "{}", stderr(&out));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("rules")).expect("mkdir");
    std::fs::write(
        dir.path().join("rules/r.yml"),
        "id: r\nlanguage: python\nrule:\n  pattern: $A == None\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("rules/r.test.yml"),
        "id: r\nvalid: [\r\r\r\r",
    )
    .expect("write");
    let out = refactor(dir.path(), &["test", "rules"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("r.test.yml:2:"), "{}", stderr(&out));
}
