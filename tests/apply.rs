//! End-to-end tests of `refactor apply` on fixtures: dry-run diffs, `git
//! apply` equivalence, atomic writes, commits, walking rules, languages,
//! overlaps, validation and error handling.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const PY_RULES: &str = "rules/python";

fn rules_arg(rel: &str) -> String {
    root().join(rel).to_string_lossy().into_owned()
}

#[test]
fn dry_run_prints_exact_unified_diff_and_writes_nothing() {
    let dir = copy_fixture("python-app");
    let before = snapshot(dir.path());
    let out = refactor(
        dir.path(),
        &["apply", "--rule", &rules_arg(PY_RULES), "pkg"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "\
--- a/pkg/service.py
+++ b/pkg/service.py
@@ -3,18 +3,18 @@
 
 class Service(Base):
     def __init__(self, name):
-        super(Service, self).__init__()
+        super().__init__()
         self.name = name
 
     def lookup(self, key, table):
-        if key == None:
+        if key is None:
             return None
-        if not key in table:
+        if key not in table:
             raise KeyError(key)
         return table.get(key)
 
     def describe(self):
-        if self.name != None:
+        if self.name is not None:
             print(
                 \"service\",
                 self.name,
--- a/pkg/util.py
+++ b/pkg/util.py
@@ -1,4 +1,4 @@
 def pick(options, key):
-    if key in options.keys():
+    if key in options:
         return options[key]
     return None
";
    assert_eq!(stdout(&out), expected);
    assert_eq!(snapshot(dir.path()), before, "dry run must not write");
    assert!(stderr(&out).contains("2 files scanned, 2 matched, 2 changed"));
}

/// The dry-run diff applied with `git apply` to a copy gives byte-identical
/// files to `--write`.
#[test]
fn dry_run_diff_applies_with_git_to_the_same_files_as_write() {
    for (fixture, rules) in [
        ("python-app", rules_arg(PY_RULES)),
        (
            "langs",
            fixture("langs")
                .join("rules.yml")
                .to_string_lossy()
                .into_owned(),
        ),
    ] {
        let a = copy_fixture(fixture);
        let b = copy_fixture(fixture);
        let diff = refactor(a.path(), &["apply", "--rule", &rules, "."]);
        assert_eq!(diff.status.code(), Some(0));
        assert!(!diff.stdout.is_empty());
        let patch = a.path().join("..").join(format!("{fixture}.patch"));
        std::fs::write(&patch, &diff.stdout).unwrap();
        let git = Command::new("git")
            .args(["apply", "--verbose"])
            .arg(&patch)
            .current_dir(b.path())
            .output()
            .expect("git apply");
        assert!(
            git.status.success(),
            "git apply failed: {}",
            String::from_utf8_lossy(&git.stderr)
        );
        let w = refactor(a.path(), &["apply", "--rule", &rules, "--write", "."]);
        assert_eq!(w.status.code(), Some(0));
        assert_eq!(snapshot(a.path()), snapshot(b.path()), "{fixture}");
        let _ = std::fs::remove_file(patch);
    }
}

#[test]
fn a_dry_run_prints_batch_by_batch_what_a_run_holding_every_file_prints() {
    // Over 700 files in three folders (batches of 256 in path order), a
    // third of them rewritten and one skipped (not UTF-8): the dry run
    // prints each batch as it is done. Its patch must
    // equal the one `check --format diff` prints from a run that holds
    // every file, and its summary line that of `apply --json`.
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..701 {
        let sub = ["a", "b/c", "d"][i % 3];
        let text = match i % 3 {
            0 => format!("def f{i}(x):\n    return x == None\n"),
            _ => format!("def f{i}(x):\n    return x\n"),
        };
        write(&dir.path().join(sub).join(format!("m{i:03}.py")), &text);
    }
    std::fs::write(dir.path().join("b/bad.py"), b"x = '\xff\xfe'\n").expect("write");
    let is_none = rules_arg("rules/python/is-none.yml");
    let args = ["--rule", is_none.as_str(), "."];
    let streamed = refactor(dir.path(), &[&["apply"][..], &args].concat());
    assert_eq!(streamed.status.code(), Some(0), "{}", stderr(&streamed));
    let held = refactor(
        dir.path(),
        &[
            &["check", "--format", "diff", "--fail-on", "never"][..],
            &args,
        ]
        .concat(),
    );
    assert_eq!(held.status.code(), Some(0), "{}", stderr(&held));
    let patch = stdout(&streamed);
    assert_eq!(patch.matches("\n+    return x is None\n").count(), 234);
    assert_eq!(patch, stdout(&held));
    let json = refactor(dir.path(), &[&["apply", "--json"][..], &args].concat());
    let last = |o: &std::process::Output| stderr(o).lines().last().unwrap_or("").to_string();
    assert_eq!(
        last(&streamed),
        "refactor: 701 files scanned, 234 matched, 234 changed, 1 skipped, 0 rejected"
    );
    assert_eq!(last(&streamed), last(&json));
    assert!(
        stderr(&streamed).contains("note: skipped"),
        "{}",
        stderr(&streamed)
    );
    // Nothing was written.
    assert!(std::fs::read_to_string(dir.path().join("a/m000.py"))
        .unwrap()
        .contains("x == None"));
}

#[test]
fn every_language_is_rewritten() {
    let dir = copy_fixture("langs");
    let rules = fixture("langs").join("rules.yml");
    let out = refactor(
        dir.path(),
        &["apply", "--rule", rules.to_str().unwrap(), "--write", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert!(read("main.rs").contains("if items.is_empty() {"));
    assert!(read("app.py").contains("if value is None:"));
    assert!(read("app.js").starts_with("let count = 0;"));
    assert!(read("types.ts").contains("function parse(input: unknown): string"));
    assert!(read("types.ts").contains("const value: unknown ="));
    assert!(read("view.tsx").contains("{ title: unknown }"));
    assert!(read("main.go").contains("return fmt.Errorf(\"bad value %d\", n)"));
    assert!(read("Main.java").contains("return s.isEmpty();"));
    assert!(read("util.c").contains("return !p;"));
    assert!(read("util.cpp").contains("return p == nullptr;"));
    assert!(stderr(&out).contains("9 files scanned, 9 matched, 9 changed"));
}

#[test]
fn write_keeps_permissions_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crlf.py");
    std::fs::write(
        &file,
        "def f(x):\r\n    if x == None:\r\n        return 1\r\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o751)).unwrap();
    }
    let rule = dir.path().join("r.yml");
    write(
        &rule,
        "id: multi\nlanguage: python\nrule:\n  pattern: $X == None\nfix: |-\n  (\n      $X is None)\n",
    );
    let out = refactor(
        dir.path(),
        &["apply", "--rule", "r.yml", "--write", "crlf.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        "def f(x):\r\n    if (\r\n        x is None):\r\n        return 1\r\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o751);
    }
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".refactor-")),
        "{names:?}"
    );
}

#[test]
fn python_multiline_fix_is_reindented_and_still_parses() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("m.py"),
        "class A:\n    def f(self):\n        if x:\n            print(a +\n                  b)\n        return 1\n",
    );
    write(
        &dir.path().join("r.yml"),
        "id: log\nlanguage: python\nrule:\n  pattern: print($A)\nfix: |-\n  if DEBUG:\n      log(\n          $A)\n",
    );
    let out = refactor(dir.path(), &["apply", "-r", "r.yml", "--write", "m.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m.py")).unwrap(),
        "class A:\n    def f(self):\n        if x:\n            if DEBUG:\n                log(\n                    a +\n                          b)\n        return 1\n"
    );
}

#[test]
fn overlapping_matches_keep_the_outermost_and_report_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.py"), "x = foo(foo(1))\n");
    write(
        &dir.path().join("r.yml"),
        "id: wrap\nlanguage: python\nrule:\n  pattern: foo($A)\nfix: bar($A)\n",
    );
    let out = refactor(dir.path(), &["apply", "-r", "r.yml", "--json", "a.py"]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "applied");
    assert_eq!(lines[0]["replacement"], "bar(foo(1))");
    assert_eq!(lines[0]["range"]["byteOffset"]["start"], 4);
    // 0-based, as in ast-grep's JSON.
    assert_eq!(lines[0]["range"]["start"]["line"], 0);
    assert_eq!(lines[0]["range"]["start"]["column"], 4);
    assert!(lines[1]["status"]
        .as_str()
        .unwrap()
        .starts_with("skipped: overlaps an edit of `wrap` at line 1"));
    let w = refactor(dir.path(), &["apply", "-r", "r.yml", "--write", "a.py"]);
    assert_eq!(w.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
        "x = bar(foo(1))\n"
    );
}

#[test]
fn rewrite_that_breaks_parsing_is_rejected_and_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let original = "x = a + b;\ny = c;\n";
    write(&dir.path().join("a.js"), original);
    write(
        &dir.path().join("r.yml"),
        "id: broken\nlanguage: javascript\nrule:\n  pattern: $A + $B\nfix: $A +\n",
    );
    let out = refactor(dir.path(), &["apply", "-r", "r.yml", "--write", "a.js"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("a.js: the rewrite introduces parse errors; file left unchanged"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("1 rejected"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.js")).unwrap(),
        original
    );
    let json = refactor(dir.path(), &["apply", "-r", "r.yml", "--json", "a.js"]);
    assert!(stdout(&json).contains("\"status\":\"rejected: the rewritten file no longer parses\""));
}

#[test]
fn walker_honours_gitignore_hidden_binary_utf8_size_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    Command::new("git")
        .arg("init")
        .arg("-q")
        .current_dir(d)
        .status()
        .unwrap();
    let body = "x = a == None\n";
    write(&d.join(".gitignore"), "ignored/\n");
    write(&d.join("ignored/a.py"), body);
    write(&d.join(".hidden/a.py"), body);
    write(&d.join("src/keep.py"), body);
    write(&d.join("src/other.py"), body);
    write(&d.join("tests/t.py"), body);
    std::fs::write(d.join("src/bin.py"), b"x = a == None\n\0\0binary").unwrap();
    std::fs::write(d.join("src/latin1.py"), b"x = a == None # caf\xe9\n").unwrap();
    write(&d.join("src/big.py"), &body.repeat(100));
    #[cfg(unix)]
    std::os::unix::fs::symlink(d.join("tests"), d.join("src/link")).unwrap();
    let rules = rules_arg("rules/python/is-none.yml");
    let out = refactor(d, &["apply", "-r", &rules, "--max-filesize", "1000", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let diff = stdout(&out);
    let touched: Vec<&str> = diff
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .collect();
    assert_eq!(touched, vec!["src/keep.py", "src/other.py", "tests/t.py"]);
    let err = stderr(&out);
    assert!(err.contains("skipped ./src/bin.py: binary file"), "{err}");
    assert!(
        err.contains("skipped ./src/latin1.py: not valid UTF-8"),
        "{err}"
    );
    assert!(
        err.contains("skipped ./src/big.py: larger than --max-filesize"),
        "{err}"
    );

    let out = refactor(
        d,
        &[
            "apply",
            "-r",
            &rules,
            "--include",
            "src/**",
            "--exclude",
            "other.py",
            ".",
        ],
    );
    let touched: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/").map(str::to_string))
        .collect();
    assert_eq!(touched, vec!["src/big.py", "src/keep.py"]);
}

fn assert_error(dir: &Path, rule_text: &str, expect: &str) {
    write(&dir.join("bad.yml"), rule_text);
    let before = snapshot(dir);
    let out = refactor(dir, &["apply", "-r", "bad.yml", "--write", "."]);
    assert_eq!(out.status.code(), Some(2), "{rule_text}");
    let err = stderr(&out);
    assert!(err.contains(expect), "expected {expect:?} in {err:?}");
    assert_eq!(
        snapshot(dir),
        before,
        "nothing may be written after an error"
    );
}

#[test]
fn bad_rules_give_path_line_errors_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.py"), "x = a == None\n");
    let d = dir.path();
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: [unclosed\n",
        // The end of input is on the last line, the unclosed bracket's.
        "bad.yml:4: did not find expected ',' or ']'",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: $X == None\n  patern: typo\n",
        "bad.yml:5: rule: unknown field `patern`",
    );
    assert_error(
        d,
        "id: a\nlanguage: cobol\nrule:\n  pattern: x\n",
        "bad.yml:2: unknown language `cobol`",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  kind: identifier\n  regex: '(unclosed'\n",
        "bad.yml:5: invalid regex `(unclosed`",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  kind: not_a_kind\n",
        "bad.yml:4: unknown node kind `not_a_kind`",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: 'foo(('\n",
        "bad.yml:4: invalid pattern `foo((`",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: $X == None\nfix: $Y is None\n",
        "bad.yml:5: undefined metavariable `$Y` used in `fix`",
    );
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: $X == None\nfix: $X is $?T\n",
        "bad.yml:5: hole `$?T` is used in `fix` but not declared",
    );
    // Second document of a multi-rule file: the line counts from the file start.
    assert_error(
        d,
        "id: a\nlanguage: python\nrule:\n  pattern: $X == None\n---\nid: b\nlanguage: python\nrule:\n  kind: nope\n",
        "bad.yml:9: unknown node kind `nope`",
    );
    // A good rule with a missing path.
    write(
        &d.join("good.yml"),
        "id: g\nlanguage: python\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    let out = refactor(
        d,
        &["apply", "-r", "good.yml", "--write", "missing.py", "a.py"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.py: no such file or directory"));
    assert_eq!(
        std::fs::read_to_string(d.join("a.py")).unwrap(),
        "x = a == None\n"
    );
    let out = refactor(d, &["apply", "-r", "nowhere.yml", "a.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nowhere.yml:1: no such rule file or folder"));
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo_with_fixture() -> tempfile::TempDir {
    let dir = copy_fixture("python-app");
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["config", "user.name", "t"]);
    git(d, &["config", "user.email", "t@example.com"]);
    write(&d.join("notes.txt"), "v1\n");
    git(d, &["add", "."]);
    git(d, &["commit", "-qm", "base"]);
    dir
}

#[test]
fn commit_writes_and_commits_only_touched_files() {
    let dir = repo_with_fixture();
    let d = dir.path();
    // An unrelated staged change must not be swept into our commit.
    write(&d.join("notes.txt"), "v2\n");
    git(d, &["add", "notes.txt"]);
    let out = refactor(d, &["apply", "-r", &rules_arg(PY_RULES), "--commit", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = git(d, &["show", "--name-only", "--format=%s", "HEAD"]);
    let mut lines = files.lines().filter(|l| !l.is_empty());
    let subject = lines.next().unwrap();
    assert!(
        subject.starts_with(
            "refactor: apply py-eq-none, py-in-dict-keys, py-ne-none, py-not-in, py-zero-arg-super"
        ),
        "{subject}"
    );
    assert_eq!(
        lines.collect::<Vec<_>>(),
        vec!["pkg/service.py", "pkg/util.py"]
    );
    // The committed content is what was written, and notes.txt stays staged, uncommitted.
    let committed = git(d, &["show", "HEAD:pkg/util.py"]);
    assert_eq!(
        committed,
        std::fs::read_to_string(d.join("pkg/util.py")).unwrap()
    );
    assert!(committed.contains("if key in options:"));
    let status = git(d, &["status", "--porcelain"]);
    assert_eq!(status, "M  notes.txt\n");
}

#[test]
fn commit_refuses_dirty_files_unless_allowed() {
    let dir = repo_with_fixture();
    let d = dir.path();
    let util = d.join("pkg/util.py");
    let dirty = std::fs::read_to_string(&util).unwrap() + "# local edit\n";
    std::fs::write(&util, &dirty).unwrap();
    let head = git(d, &["rev-parse", "HEAD"]);
    let before = snapshot(d);
    let out = refactor(d, &["apply", "-r", &rules_arg(PY_RULES), "--commit", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to commit"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("pkg/util.py"));
    assert_eq!(snapshot(d), before, "nothing written");
    assert_eq!(git(d, &["rev-parse", "HEAD"]), head, "no commit");

    let out = refactor(
        d,
        &[
            "apply",
            "-r",
            &rules_arg(PY_RULES),
            "--commit",
            "--allow-dirty",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let committed = git(d, &["show", "HEAD:pkg/util.py"]);
    assert!(committed.contains("# local edit") && committed.contains("if key in options:"));
}

#[test]
fn rule_tests_pass_for_shipped_rules_and_fail_when_broken() {
    let out = refactor(&root(), &["test", "rules"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let summary = stdout(&out);
    let passed: usize = summary
        .lines()
        .last()
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // The shipped catalog (docs/rules.md) has 300+ cases; a floor keeps it from shrinking silently.
    assert!(passed >= 300, "{summary}");

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("r.yml"),
        "id: eq\nlanguage: python\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    write(
        &dir.path().join("r.test.yml"),
        "id: eq\nvalid:\n  - 'a is None'\n  - 'a == None'\ninvalid:\n  - code: 'b == None'\n    fixed: 'b is not None'\n  - 'c == 1'\n",
    );
    let out = refactor(dir.path(), &["test", "."]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("valid case matched 1 time(s): \"a == None\""),
        "{text}"
    );
    assert!(text.contains("fix differs"), "{text}");
    assert!(
        text.contains("invalid case did not match: \"c == 1\""),
        "{text}"
    );
    assert!(text.trim_end().ends_with("1 passed, 3 failed"), "{text}");
}

#[test]
fn severity_off_switches_a_rule_off() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.py"), "x = a == None\ny = b != None\n");
    write(
        &dir.path().join("r.yml"),
        "id: on\nlanguage: python\nrule:\n  pattern: $X != None\nfix: $X is not None\n---\nid: off\nlanguage: python\nseverity: off\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    let out = refactor(dir.path(), &["apply", "-r", "r.yml", "--write", "a.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.py")).unwrap(),
        "x = a == None\ny = b is not None\n"
    );
}

/// A rule file or a test file given by itself runs its own tests: the test
/// file beside the rule, or the rule beside the test file; a rule without
/// tests is an error, not "0 passed".
#[test]
fn rule_tests_for_one_rule_file_or_one_test_file() {
    for arg in ["rules/python/is-none.yml", "rules/python/is-none.test.yml"] {
        let out = refactor(&root(), &["test", arg]);
        assert_eq!(out.status.code(), Some(0), "{arg}: {}", stderr(&out));
        let last = stdout(&out).lines().last().unwrap_or("").to_string();
        let passed: usize = last.split(' ').next().unwrap().parse().unwrap();
        assert!(
            passed >= 5 && last.contains(" passed, 0 failed"),
            "{arg}: {last}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("r.yml"),
        "id: eq\nlanguage: python\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    let out = refactor(dir.path(), &["test", "r.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("r.yml: no test file beside this rule (expected r.test.yml"),
        "{}",
        stderr(&out)
    );
}
