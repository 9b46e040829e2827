//! `refactor check` end to end: temporary git repositories built with git2
//! (a base branch and a feature branch), the real binary run inside them.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------------------
// Helpers

/// Python rules covering every severity (and none).
const RULES: &str = r#"id: eq-none
language: python
severity: error
message: "Use `is None`"
rule:
  pattern: $X == None
fix: $X is None
---
id: ne-none
language: python
severity: warning
message: "Use `is not None`"
rule:
  pattern: $X != None
fix: $X is not None
---
id: keys-in
language: python
severity: info
message: "Test membership on the dict"
rule:
  pattern: $K in $D.keys()
fix: $K in $D
---
id: has-key
language: python
severity: hint
message: "has_key is gone"
rule:
  pattern: $D.has_key($K)
fix: $K in $D
---
id: no-print
language: python
message: "No print calls"
rule:
  pattern: print($$$A)
---
id: exec-off
language: python
severity: off
message: "exec is switched off"
rule:
  pattern: exec($A)
fix: run($A)
"#;

struct Repo {
    dir: tempfile::TempDir,
    repo: git2::Repository,
    rules: PathBuf,
    _rules_dir: tempfile::TempDir,
}

impl Repo {
    /// An empty repository on branch `main`, with the rules above outside it.
    fn new() -> Repo {
        Self::with_rules(RULES)
    }

    fn with_rules(rules: &str) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = git2::RepositoryInitOptions::new();
        opts.initial_head("main");
        let repo = git2::Repository::init_opts(dir.path(), &opts).unwrap();
        let rules_dir = tempfile::tempdir().unwrap();
        let rules_path = rules_dir.path().join("rules.yml");
        std::fs::write(&rules_path, rules).unwrap();
        Repo {
            dir,
            repo,
            rules: rules_path,
            _rules_dir: rules_dir,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).unwrap();
    }

    /// Stages every change of the working tree (additions, edits, deletions).
    fn stage_all(&self) {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"].iter(), git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"].iter(), None).unwrap();
        index.write().unwrap();
    }

    /// Commits the whole working tree on the current branch.
    fn commit(&self, msg: &str) -> git2::Oid {
        self.stage_all();
        let mut index = self.repo.index().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("Test", "test@example.com").unwrap();
        let parent = self.repo.head().ok().map(|h| h.peel_to_commit().unwrap());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
            .unwrap()
    }

    /// Creates `name` at HEAD and checks it out.
    fn branch(&self, name: &str) {
        let head = self.repo.head().unwrap().peel_to_commit().unwrap();
        self.repo.branch(name, &head, false).unwrap();
        self.checkout(name);
    }

    fn checkout(&self, name: &str) {
        let refname = format!("refs/heads/{name}");
        let obj = self.repo.revparse_single(&refname).unwrap();
        let mut co = git2::build::CheckoutBuilder::new();
        co.force();
        self.repo.checkout_tree(&obj, Some(&mut co)).unwrap();
        self.repo.set_head(&refname).unwrap();
    }

    fn check(&self, args: &[&str]) -> Run {
        self.check_in(self.path(), args)
    }

    fn check_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_refactor"))
            .current_dir(cwd)
            .arg("check")
            .arg("--rule")
            .arg(&self.rules)
            .args(["--color", "never"])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        Run::new(out)
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn new(out: Output) -> Run {
        Run {
            code: out.status.code().expect("killed by a signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    fn json(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }

    /// `(file, rule, start line)` of every JSON finding.
    fn findings(&self) -> BTreeSet<(String, String, u64)> {
        self.json()
            .iter()
            .map(|v| {
                (
                    v["file"].as_str().unwrap().to_string(),
                    v["rule"].as_str().unwrap().to_string(),
                    // JSON lines are 0-based (as ast-grep's); compare 1-based.
                    v["range"]["start"]["line"].as_u64().unwrap() + 1,
                )
            })
            .collect()
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn set(items: &[(&str, &str, u64)]) -> BTreeSet<(String, String, u64)> {
    items
        .iter()
        .map(|(f, r, l)| (f.to_string(), r.to_string(), *l))
        .collect()
}

/// A file long enough for git's rename detection to pair it with its
/// renamed copy, with one `== None` finding on line 2.
fn long_file(tag: &str) -> String {
    let mut s = format!("def {tag}(x):\n    return x == None\n");
    for i in 0..20 {
        s.push_str(&format!(
            "\n\ndef {tag}_{i}(a, b):\n    return a + b * {i}\n"
        ));
    }
    s
}

// ---------------------------------------------------------------------------
// Diff-aware mode

/// main: a.py and b.py each with a finding; feature edits only a.py.
fn two_branch_repo() -> Repo {
    let r = Repo::new();
    r.write("src/a.py", "def f(x):\n    return x == None\n");
    r.write("src/b.py", "def g(y):\n    return y == None\n");
    r.commit("base");
    r.branch("feature");
    r.write(
        "src/a.py",
        "def f(x):\n    return x == None\n\n\ndef h(z):\n    return z == None\n",
    );
    r.commit("feature: add h");
    r
}

#[test]
fn whole_repo_without_changed_since() {
    let r = two_branch_repo();
    let run = r.check(&["--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[
            ("src/a.py", "eq-none", 2),
            ("src/a.py", "eq-none", 6),
            ("src/b.py", "eq-none", 2),
        ]),
        "{run:?}"
    );
}

#[test]
fn changed_since_reports_only_changed_files() {
    let r = two_branch_repo();
    let run = r.check(&["--changed-since", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("src/a.py", "eq-none", 2), ("src/a.py", "eq-none", 6)]),
        "{run:?}"
    );
}

#[test]
fn changed_lines_reports_only_findings_on_added_lines() {
    let r = two_branch_repo();
    let run = r.check(&[
        "--changed-since",
        "main",
        "--changed-lines",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("src/a.py", "eq-none", 6)]),
        "{run:?}"
    );
}

#[test]
fn changed_lines_with_no_finding_on_changed_lines_exits_0() {
    let r = Repo::new();
    r.write("a.py", "def f(x):\n    return x == None\n");
    r.commit("base");
    r.branch("feature");
    r.write("a.py", "def f(x):\n    return x == None\n\n\nZ = 1\n");
    r.commit("feature");
    let run = r.check(&[
        "--changed-since",
        "main",
        "--changed-lines",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
    // The same change without --changed-lines reports the old finding.
    let run = r.check(&["--changed-since", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.findings(), set(&[("a.py", "eq-none", 2)]));
}

#[test]
fn changed_since_uses_the_merge_base() {
    // main moves on after the feature branch was cut: its changes are not
    // the feature's and must not be reported.
    let r = two_branch_repo();
    r.checkout("main");
    r.write("src/c.py", "w = 1 == None\n");
    r.commit("main: c.py");
    r.checkout("feature");
    assert!(!r.path().join("src/c.py").exists());
    let run = r.check(&["--changed-since", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("src/a.py", "eq-none", 2), ("src/a.py", "eq-none", 6)])
    );
}

#[test]
fn changed_since_follows_renames() {
    let r = Repo::new();
    r.write("old_name.py", &long_file("f"));
    r.write("other.py", "v = 2 == None\n");
    r.commit("base");
    r.branch("feature");
    r.remove("old_name.py");
    // Renamed, and one line added at the end.
    let text = long_file("f") + "\n\ndef added(q):\n    return q == None\n";
    r.write("pkg/new_name.py", &text);
    r.commit("feature: rename");
    let added_line = text.lines().count() as u64;

    let run = r.check(&["--changed-since", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[
            ("pkg/new_name.py", "eq-none", 2),
            ("pkg/new_name.py", "eq-none", added_line),
        ]),
        "{run:?}"
    );
    // A renamed file's unchanged lines are not "changed lines": only the
    // line added after the rename is reported.
    let run = r.check(&[
        "--changed-since",
        "main",
        "--changed-lines",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("pkg/new_name.py", "eq-none", added_line)]),
        "{run:?}"
    );
}

#[test]
fn uncommitted_rename_in_the_working_tree_is_followed() {
    let r = Repo::new();
    r.write("old_name.py", &long_file("f"));
    r.commit("base");
    r.branch("feature");
    // Renamed on disk only: old deleted (unstaged), new untracked.
    r.remove("old_name.py");
    r.write("new_name.py", &long_file("f"));
    let run = r.check(&["--changed-since", "main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.findings(), set(&[("new_name.py", "eq-none", 2)]));
    let run = r.check(&[
        "--changed-since",
        "main",
        "--changed-lines",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn deleted_files_are_not_reported_and_are_no_error() {
    let r = Repo::new();
    r.write("gone.py", "a = 1 == None\n");
    r.write("gone_too.py", "b = 2 == None\n");
    r.write("kept.py", "c = 3 == None\n");
    r.commit("base");
    r.branch("feature");
    r.remove("gone.py");
    r.commit("feature: delete gone.py");
    // Deleted in the working tree only, not committed.
    r.remove("gone_too.py");
    for extra in [&[][..], &["--changed-lines"][..]] {
        let mut args = vec!["--changed-since", "main", "--format", "json"];
        args.extend_from_slice(extra);
        let run = r.check(&args);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stdout, "", "{run:?}");
        assert!(!run.stderr.contains("error"), "{run:?}");
    }
}

#[test]
fn untracked_staged_and_unstaged_changes_are_reported() {
    let r = Repo::new();
    r.write("clean.py", "a = 1 == None\n");
    r.write("staged.py", "b = 1\n");
    r.write("unstaged.py", "c = 1\n");
    r.commit("base");
    r.branch("feature");
    r.write("staged.py", "b = 1\nb2 = b == None\n");
    r.stage_all();
    r.write("unstaged.py", "c = 1\nc2 = c != None\n");
    r.write("fresh/deep/new.py", "d = 1\nprint(d)\n");
    r.write("new_top.py", "e = {}\nf = 1 in e.keys()\n");
    let run = r.check(&[
        "--changed-since",
        "main",
        "--changed-lines",
        "--format",
        "json",
        "--fail-on",
        "hint",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[
            ("fresh/deep/new.py", "no-print", 2),
            ("new_top.py", "keys-in", 2),
            ("staged.py", "eq-none", 2),
            ("unstaged.py", "ne-none", 2),
        ]),
        "{run:?}"
    );
}

#[test]
fn changed_since_from_a_subfolder_uses_repository_paths() {
    let r = two_branch_repo();
    let run = r.check_in(
        &r.path().join("src"),
        &[
            "--changed-since",
            "main",
            "--changed-lines",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("src/a.py", "eq-none", 6)]),
        "{run:?}"
    );
}

#[test]
fn pull_request_merge_checkout_against_a_remote_tracking_branch() {
    // What actions/checkout gives a pull_request workflow: a detached HEAD
    // at a merge commit of the feature into the base, and origin/<base>.
    let r = two_branch_repo();
    let feature = r.repo.head().unwrap().peel_to_commit().unwrap();
    r.checkout("main");
    r.write("src/c.py", "w = 1 == None\n");
    let main_tip = r.commit("main moves on");
    r.repo
        .reference("refs/remotes/origin/main", main_tip, true, "fetch")
        .unwrap();
    let main_commit = r.repo.find_commit(main_tip).unwrap();
    let mut index = r.repo.merge_commits(&main_commit, &feature, None).unwrap();
    assert!(!index.has_conflicts());
    let tree = r
        .repo
        .find_tree(index.write_tree_to(&r.repo).unwrap())
        .unwrap();
    let sig = git2::Signature::now("GitHub", "noreply@github.com").unwrap();
    let merge = r
        .repo
        .commit(None, &sig, &sig, "Merge", &tree, &[&main_commit, &feature])
        .unwrap();
    r.repo.set_head_detached(merge).unwrap();
    let mut co = git2::build::CheckoutBuilder::new();
    co.force();
    r.repo.checkout_head(Some(&mut co)).unwrap();
    assert!(r.path().join("src/c.py").exists());

    let run = r.check(&["--changed-since", "origin/main", "--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.findings(),
        set(&[("src/a.py", "eq-none", 2), ("src/a.py", "eq-none", 6)]),
        "{run:?}"
    );
    let run = r.check(&[
        "--changed-since",
        "origin/main",
        "--changed-lines",
        "--format",
        "github",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "::error file=src/a.py,line=6,col=12,endLine=6,endColumn=21,title=eq-none::Use `is None`\n"
    );
}

#[test]
fn explicit_file_arguments_limit_the_check() {
    // pre-commit passes the staged files as arguments.
    let r = two_branch_repo();
    let run = r.check(&["--format", "json", "src/b.py"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.findings(), set(&[("src/b.py", "eq-none", 2)]));
    let run = r.check(&["--format", "json", "--changed-since", "main", "src/b.py"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn unknown_revision_is_an_error_with_exit_2_and_no_output() {
    let r = two_branch_repo();
    let run = r.check(&["--changed-since", "no-such-branch", "--format", "json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("no-such-branch"), "{run:?}");
}

#[test]
fn changed_since_outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = Repo::new();
    std::fs::write(dir.path().join("a.py"), "x = 1 == None\n").unwrap();
    let run = r.check_in(dir.path(), &["--changed-since", "main"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.stdout, "");
}

// ---------------------------------------------------------------------------
// Severities and exit codes

fn one_file_repo(text: &str) -> Repo {
    let r = Repo::new();
    r.write("m.py", text);
    r.commit("base");
    r
}

#[test]
fn exit_codes_follow_fail_on_and_severity() {
    // (file text, expected exit code for --fail-on error, warning, info, hint, never)
    let cases: &[(&str, [i32; 5])] = &[
        ("a = 1 == None\n", [1, 1, 1, 1, 0]),             // error
        ("a = 1 != None\n", [0, 1, 1, 1, 0]),             // warning
        ("d = {}\na = 1 in d.keys()\n", [0, 0, 1, 1, 0]), // info
        ("d = {}\na = d.has_key(1)\n", [0, 0, 0, 1, 0]),  // hint
        ("print(1)\n", [1, 1, 1, 1, 0]),                  // no severity: error
        ("exec('1')\n", [0, 0, 0, 0, 0]),                 // off: never reported
        ("a = 1\n", [0, 0, 0, 0, 0]),                     // nothing
    ];
    let levels = ["error", "warning", "info", "hint", "never"];
    for (text, codes) in cases {
        let r = one_file_repo(text);
        for (level, want) in levels.iter().zip(codes) {
            let run = r.check(&["--format", "json", "--fail-on", level]);
            assert_eq!(run.code, *want, "{text:?} --fail-on {level}: {run:?}");
        }
        // The default is --fail-on error.
        let run = r.check(&[]);
        assert_eq!(run.code, codes[0], "{text:?} default: {run:?}");
    }
}

#[test]
fn severities_are_reported_by_name_and_off_is_never_reported() {
    let r = one_file_repo(
        "d = {}\na = 1 == None\nb = 1 != None\nc = 1 in d.keys()\ne = d.has_key(1)\nprint(a)\nexec('x')\n",
    );
    for fmt in ["json", "text", "github", "sarif", "diff"] {
        let run = r.check(&["--format", fmt]);
        assert_eq!(run.code, 1, "{fmt}: {run:?}");
        assert!(!run.stdout.contains("exec-off"), "{fmt}: {run:?}");
        assert!(!run.stdout.contains("switched off"), "{fmt}: {run:?}");
        assert!(!run.stdout.contains("run("), "{fmt}: {run:?}");
    }
    let run = r.check(&["--format", "json"]);
    let sev: Vec<(String, String)> = run
        .json()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().into(),
                v["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("eq-none", "error"),
        ("ne-none", "warning"),
        ("keys-in", "info"),
        ("has-key", "hint"),
        ("no-print", "error"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(sev, want);
}

#[test]
fn an_off_rule_does_not_hide_an_overlapping_fix() {
    // The switched-off rule matches the same node as a live one; the live
    // rule's fix must still be reported and proposed.
    let r = Repo::with_rules(
        "id: a-off\nlanguage: python\nseverity: off\nrule:\n  pattern: $X == None\nfix: OFF\n---\n\
         id: b-live\nlanguage: python\nseverity: error\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    r.write("m.py", "v = 1 == None\n");
    r.commit("base");
    let run = r.check(&["--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = run.json();
    assert_eq!(v.len(), 1, "{run:?}");
    assert_eq!(v[0]["rule"], "b-live");
    assert_eq!(v[0]["status"], "applied", "{run:?}");
    let run = r.check(&["--format", "diff"]);
    assert!(run.stdout.contains("+v = 1 is None\n"), "{run:?}");
}

#[test]
fn usage_errors_exit_2() {
    let r = one_file_repo("a = 1 == None\n");
    for args in [
        &["--shard", "3/3"][..],
        &["--shard", "1/0"][..],
        &["--shard", "x"][..],
        &["--format", "xml"][..],
        &["--fail-on", "fatal"][..],
        &["--changed-lines"][..],
    ] {
        let run = r.check(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}: {run:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_refactor"))
        .current_dir(r.path())
        .args(["check", "--rule", "no/such/rules.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------------------
// Formats

#[test]
fn json_lines_carry_the_design_fields() {
    let text = "def f(x):\n    return x == None\n\n\nprint(f(1))\n";
    let r = one_file_repo(text);
    let run = r.check(&["--format", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let v = run.json();
    assert_eq!(v.len(), 2, "{run:?}");
    // One object per line, in file then position order.
    assert_eq!(run.stdout.lines().count(), 2);
    let fix = &v[0];
    assert_eq!(fix["file"], "m.py");
    assert_eq!(fix["rule"], "eq-none");
    assert_eq!(fix["severity"], "error");
    assert_eq!(fix["message"], "Use `is None`");
    assert_eq!(fix["status"], "applied");
    assert_eq!(fix["replacement"], "x is None");
    let range = &fix["range"];
    // 0-based lines and columns, as in ast-grep's JSON (line 3 of the file).
    assert_eq!(range["start"]["line"], 2 - 1);
    assert_eq!(range["start"]["column"], 11);
    assert_eq!(range["end"]["line"], 2 - 1);
    assert_eq!(range["end"]["column"], 20);
    let (s, e) = (
        range["byteOffset"]["start"].as_u64().unwrap() as usize,
        range["byteOffset"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], "x == None");
    assert!(fix.get("holes").is_none());

    let violation = &v[1];
    assert_eq!(violation["rule"], "no-print");
    assert_eq!(violation["severity"], "error");
    assert_eq!(violation["status"], "violation");
    assert!(violation.get("replacement").is_none());
    assert_eq!(violation["range"]["start"]["line"], 5 - 1);
}

#[test]
fn text_format_shows_the_finding_and_its_diff() {
    let r = one_file_repo("def f(x):\n    return x == None\n");
    let run = r.check(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "m.py:2:12: error[eq-none]: Use `is None`");
    assert!(lines.contains(&"    -    return x == None"), "{run:?}");
    assert!(lines.contains(&"    +    return x is None"), "{run:?}");
    assert!(!run.stdout.contains('\x1b'), "{run:?}");
}

#[test]
fn github_commands_are_exact_and_escaped() {
    let r = Repo::with_rules(
        "id: eq-none\nlanguage: python\nseverity: error\n\
         message: \"100% wrong: use `is`,\\nnot ==\\r\"\nrule:\n  pattern: $X == None\nfix: $X is None\n---\n\
         id: ne-none\nlanguage: python\nseverity: warning\nmessage: ne\nrule:\n  pattern: $X != None\n---\n\
         id: 'odd:id,x'\nlanguage: python\nseverity: info\nmessage: i\nrule:\n  pattern: $K in $D.keys()\n---\n\
         id: h\nlanguage: python\nseverity: hint\nrule:\n  pattern: $D.has_key($K)\n",
    );
    r.write("dir/we,ird:name%.py", "def f(x):\n    return x == None\n");
    r.write(
        "plain.py",
        "a = 1 != None\nd = {}\nb = (1 in\n     d.keys())\nc = d.has_key(2)\n",
    );
    r.commit("base");
    let run = r.check(&["--format", "github", "--fail-on", "never"]);
    assert_eq!(run.code, 0, "{run:?}");
    let want = "\
::error file=dir/we%2Cird%3Aname%25.py,line=2,col=12,endLine=2,endColumn=21,title=eq-none::100%25 wrong: use `is`,%0Anot ==%0D
::warning file=plain.py,line=1,col=5,endLine=1,endColumn=14,title=ne-none::ne
::notice file=plain.py,line=3,col=6,endLine=4,endColumn=14,title=odd%3Aid%2Cx::i
::notice file=plain.py,line=5,col=5,endLine=5,endColumn=17,title=h::rule `h` matched
";
    assert_eq!(run.stdout, want, "{run:?}");
}

#[test]
fn diff_format_is_a_patch_of_the_reported_edits_only() {
    let r = Repo::new();
    r.write(
        "m.py",
        "def f(x):\n    return x == None\n\n\ndef g(y):\n    return y != None\n",
    );
    r.commit("base");
    r.branch("feature");
    r.write(
        "m.py",
        "def f(x):\n    return x == None\n\n\ndef g(y):\n    return y != None\n\n\ndef h(z):\n    return z == None\n",
    );
    r.commit("feature");
    // Whole file: all three edits.
    let all = r.check(&["--format", "diff"]);
    assert_eq!(all.code, 1, "{all:?}");
    assert!(
        all.stdout.starts_with("--- a/m.py\n+++ b/m.py\n"),
        "{all:?}"
    );
    assert_eq!(all.stdout.matches("\n+    return").count(), 3, "{all:?}");
    apply_patch(&r, &all.stdout);
    assert_eq!(
        std::fs::read_to_string(r.path().join("m.py")).unwrap(),
        "def f(x):\n    return x is None\n\n\ndef g(y):\n    return y is not None\n\n\ndef h(z):\n    return z is None\n"
    );
    reset_hard(&r);

    // Changed lines only: the patch carries only the reported edit.
    let one = r.check(&[
        "--format",
        "diff",
        "--changed-since",
        "main",
        "--changed-lines",
    ]);
    assert_eq!(one.code, 1, "{one:?}");
    apply_patch(&r, &one.stdout);
    assert_eq!(
        std::fs::read_to_string(r.path().join("m.py")).unwrap(),
        "def f(x):\n    return x == None\n\n\ndef g(y):\n    return y != None\n\n\ndef h(z):\n    return z is None\n"
    );
    reset_hard(&r);

    // Nothing to report: an empty patch and exit 0.
    let none = r.check(&[
        "--format",
        "diff",
        "--shard",
        "0/1",
        "--include",
        "nothing*.py",
    ]);
    assert_eq!(none.code, 0, "{none:?}");
    assert_eq!(none.stdout, "");
}

fn apply_patch(r: &Repo, patch: &str) {
    // `git apply` is what a user (or a bot) runs on the patch.
    let mut child = Command::new("git")
        .current_dir(r.path())
        .args(["apply", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("git is needed for this test");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(patch.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "git apply failed: {}\n{patch}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reset_hard(r: &Repo) {
    let head = r.repo.head().unwrap().peel_to_commit().unwrap();
    r.repo
        .reset(head.as_object(), git2::ResetType::Hard, None)
        .unwrap();
}

// ---------------------------------------------------------------------------
// SARIF

fn sarif_schema() -> (boon::Schemas, boon::SchemaIndex) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(
        schema["id"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let url = "file:///sarif-schema-2.1.0.json";
    compiler.add_resource(url, schema).unwrap();
    let index = compiler.compile(url, &mut schemas).unwrap();
    (schemas, index)
}

fn assert_valid_sarif(doc: &Value) {
    let (schemas, index) = sarif_schema();
    if let Err(e) = schemas.validate(doc, index) {
        panic!(
            "SARIF does not validate: {e:#}\n{}",
            serde_json::to_string_pretty(doc).unwrap()
        );
    }
}

#[test]
fn the_schema_rejects_broken_sarif() {
    // The validator must be able to fail: a result without a message, a
    // wrong version, and a region with line 0 are all invalid.
    let (schemas, index) = sarif_schema();
    let good = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "t"}}, "results": [
            {"message": {"text": "m"}, "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]}
        ]}]
    });
    assert!(schemas.validate(&good, index).is_ok());
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = good.clone();
    bad["version"] = "2.0.0".into();
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        0.into();
    assert!(schemas.validate(&bad, index).is_err());
    let mut bad = good.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(schemas.validate(&bad, index).is_err());
    // Formats are asserted: an artifact URI must be a valid URI reference.
    let mut bad = good;
    bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        "src/my file.py".into();
    assert!(schemas.validate(&bad, index).is_err());
}

#[test]
fn sarif_validates_and_carries_rules_results_and_fixes() {
    let r = Repo::with_rules(
        "id: eq-none\nlanguage: python\nseverity: error\nmessage: Use is None\n\
         note: PEP 8\nurl: https://peps.python.org/pep-0008/\nrule:\n  pattern: $X == None\nfix: $X is None\n---\n\
         id: ne-none\nlanguage: python\nseverity: warning\nmessage: ne\nrule:\n  pattern: $X != None\nfix: $X is not None\n---\n\
         id: no-print\nlanguage: python\nrule:\n  pattern: print($$$A)\n---\n\
         id: has-key\nlanguage: python\nseverity: hint\nrule:\n  pattern: $D.has_key($K)\n---\n\
         id: exec-off\nlanguage: python\nseverity: off\nrule:\n  pattern: exec($A)\n",
    );
    r.write(
        "src/my file.py",
        "s = 'é'; a = s == None\nprint(a)\nexec(a)\n",
    );
    r.write("b.py", "d = {}\nb = 1 != None\nc = d.has_key(1)\n");
    r.commit("base");
    let run = r.check(&["--format", "sarif"]);
    assert_eq!(run.code, 1, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);

    assert_eq!(doc["version"], "2.1.0");
    let sarif_run = &doc["runs"][0];
    let driver = &sarif_run["tool"]["driver"];
    assert_eq!(driver["name"], "refactor");
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&"exec-off"), "{ids:?}");
    let eq = rules.iter().find(|r| r["id"] == "eq-none").unwrap();
    assert_eq!(eq["shortDescription"]["text"], "Use is None");
    assert_eq!(eq["help"]["text"], "PEP 8");
    assert_eq!(eq["helpUri"], "https://peps.python.org/pep-0008/");
    assert_eq!(eq["defaultConfiguration"]["level"], "error");
    let np = rules.iter().find(|r| r["id"] == "no-print").unwrap();
    assert_eq!(np["defaultConfiguration"]["level"], "error");

    let results = sarif_run["results"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = results
        .iter()
        .map(|res| {
            let idx = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(
                rules[idx]["id"], res["ruleId"],
                "ruleIndex points at its rule"
            );
            (
                res["ruleId"].as_str().unwrap().into(),
                res["level"].as_str().unwrap().into(),
                res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .into(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("ne-none", "warning", "b.py"),
        ("has-key", "note", "b.py"),
        ("eq-none", "error", "src/my%20file.py"),
        ("no-print", "error", "src/my%20file.py"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(summary, want);

    // Columns count code points: `é` is one column.
    let eq_res = &results[2];
    let region = &eq_res["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 1);
    assert_eq!(region["startColumn"], 14);
    assert_eq!(region["endLine"], 1);
    assert_eq!(region["endColumn"], 23);
    assert_eq!(sarif_run["columnKind"], "unicodeCodePoints");
    let fix = &eq_res["fixes"][0]["artifactChanges"][0];
    assert_eq!(fix["artifactLocation"]["uri"], "src/my%20file.py");
    assert_eq!(fix["replacements"][0]["deletedRegion"], *region);
    assert_eq!(
        fix["replacements"][0]["insertedContent"]["text"],
        "s is None"
    );
    // A violation without a fix has no `fixes`.
    assert!(results[3].get("fixes").is_none());
    assert!(results[1].get("fixes").is_none());
}

#[test]
fn sarif_of_a_clean_run_validates_and_has_no_results() {
    let r = one_file_repo("a = 1\n");
    let run = r.check(&["--format", "sarif"]);
    assert_eq!(run.code, 0, "{run:?}");
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);
    assert_eq!(doc["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn sarif_fixes_only_for_edits_that_would_be_applied() {
    // Two rules rewrite the same node: the outer edit wins, the other one is
    // skipped as an overlap. Both are findings, but only the winner may
    // carry a fix.
    let r = Repo::with_rules(
        "id: outer\nlanguage: python\nseverity: error\nrule:\n  pattern: f($X == None)\nfix: f($X is None)\n---\n\
         id: inner\nlanguage: python\nseverity: error\nrule:\n  pattern: $X == None\nfix: $X is None\n",
    );
    r.write("m.py", "f(1 == None)\n");
    r.commit("base");
    let json = r.check(&["--format", "json"]);
    let statuses: Vec<(String, String)> = json
        .json()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().into(),
                v["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 2, "{json:?}");
    assert_eq!(statuses[0], ("outer".to_string(), "applied".to_string()));
    assert_ne!(statuses[1].1, "applied", "{json:?}");
    let run = r.check(&["--format", "sarif"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results[0].get("fixes").is_some());
    assert!(results[1].get("fixes").is_none(), "{results:?}");
}

#[test]
fn expanded_fixes_replace_the_widened_range_but_point_at_the_node() {
    // `expandEnd` widens the replaced range (here over the trailing comma);
    // annotations still point at the matched node.
    let r = Repo::with_rules(
        "id: drop-debug\nlanguage: python\nseverity: error\nmessage: drop debug=True\n\
         rule:\n  kind: keyword_argument\n  regex: '^debug=True$'\nfix:\n  template: ''\n  expandEnd:\n    regex: ','\n",
    );
    r.write("m.py", "run(debug=True,x=1)\n");
    r.commit("base");
    let json = r.check(&["--format", "json"]);
    let v = json.json();
    assert_eq!(v.len(), 1, "{json:?}");
    assert_eq!(v[0]["range"]["start"]["column"], 4);
    assert_eq!(v[0]["range"]["end"]["column"], 15, "{json:?}");
    let gh = r.check(&["--format", "github"]);
    assert_eq!(
        gh.stdout,
        "::error file=m.py,line=1,col=5,endLine=1,endColumn=15,title=drop-debug::drop debug=True\n"
    );
    let run = r.check(&["--format", "sarif"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid_sarif(&doc);
    let res = &doc["runs"][0]["results"][0];
    assert_eq!(
        res["locations"][0]["physicalLocation"]["region"]["endColumn"],
        15
    );
    let rep = &res["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(rep["deletedRegion"]["startColumn"], 5);
    assert_eq!(rep["deletedRegion"]["endColumn"], 16);
    assert_eq!(rep["insertedContent"]["text"], "");
    let diff = r.check(&["--format", "diff"]);
    assert!(diff.stdout.contains("\n+run(x=1)\n"), "{diff:?}");
}

// ---------------------------------------------------------------------------
// Shards

/// FNV-1a 64, as documented for --shard (stable across machines).
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[test]
fn shards_are_disjoint_and_their_union_is_the_whole_run() {
    let r = Repo::new();
    for i in 0..24 {
        r.write(
            &format!("pkg{}/mod_{i}.py", i % 4),
            &format!("v{i} = {i} == None\nw{i} = {i} != None\n"),
        );
    }
    r.commit("base");
    let whole = r.check(&["--format", "json", "--fail-on", "warning"]);
    assert_eq!(whole.code, 1, "{whole:?}");
    let whole_set = whole.findings();
    assert_eq!(whole_set.len(), 48);

    let mut union = BTreeSet::new();
    let mut total = 0;
    for i in 0..3 {
        let shard = format!("{i}/3");
        let run = r.check(&["--format", "json", "--shard", &shard]);
        let found = run.findings();
        assert!(!found.is_empty(), "shard {shard} is empty");
        assert_eq!(run.code, 1, "{run:?}");
        for (file, _, _) in &found {
            assert_eq!(fnv1a(file) % 3, i as u64, "{file} in shard {shard}");
        }
        total += found.len();
        union.extend(found);
        // Deterministic: the same shard twice gives the same output.
        assert_eq!(
            r.check(&["--format", "json", "--shard", &shard]).stdout,
            run.stdout
        );
    }
    assert_eq!(total, union.len(), "shards overlap");
    assert_eq!(union, whole_set);
}

#[test]
fn shards_combine_with_changed_since() {
    let r = Repo::new();
    for i in 0..12 {
        r.write(&format!("m{i}.py"), &format!("v = {i}\n"));
    }
    r.commit("base");
    r.branch("feature");
    for i in 0..12 {
        if i % 2 == 0 {
            r.write(&format!("m{i}.py"), &format!("v = {i}\nw = v == None\n"));
        }
    }
    let whole = r
        .check(&["--format", "json", "--changed-since", "main"])
        .findings();
    assert_eq!(whole.len(), 6);
    let mut union = BTreeSet::new();
    for i in 0..2 {
        let shard = format!("{i}/2");
        let run = r.check(&[
            "--format",
            "json",
            "--changed-since",
            "main",
            "--shard",
            &shard,
        ]);
        let found = run.findings();
        assert!(union.is_disjoint(&found));
        union.extend(found);
    }
    assert_eq!(union, whole);
}

/// `labels:` mean what they mean in ast-grep: JSON `labels` carry the
/// labelled metavariables' text, 0-based range, style and message, in
/// declaration order (ast-grep 0.51.1's output for this rule and file);
/// without `labels:` the whole match is the primary label. SARIF carries
/// them as related locations.
#[test]
fn labels_reach_json_and_sarif_as_in_ast_grep() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("l.py"),
        "def f(a, b):\n    return a == None\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("l.yml"),
        "id: lab\nlanguage: python\nmessage: compare with None\nrule:\n  pattern: $A == None\n  inside:\n    kind: function_definition\n    stopBy: end\n    has:\n      field: name\n      pattern: $F\nlabels:\n  A:\n    style: secondary\n    message: the operand\n  F:\n    style: primary\n    message: in this function\n",
    )
    .unwrap();
    let out = run_refactor(
        dir.path(),
        &["check", "--format", "json", "--rule", "l.yml", "l.py"],
    );
    let rec: Value = serde_json::from_str(out_text(&out.stdout).lines().next().unwrap()).unwrap();
    let want: Value = serde_json::from_str(
        r#"[{"text":"a","range":{"byteOffset":{"start":24,"end":25},"start":{"line":1,"column":11},"end":{"line":1,"column":12}},"message":"the operand","style":"secondary"},
            {"text":"f","range":{"byteOffset":{"start":4,"end":5},"start":{"line":0,"column":4},"end":{"line":0,"column":5}},"message":"in this function","style":"primary"}]"#,
    )
    .unwrap();
    assert_eq!(rec["labels"], want);
    let sarif = run_refactor(
        dir.path(),
        &["check", "--format", "sarif", "--rule", "l.yml", "l.py"],
    );
    let doc: Value = serde_json::from_str(&out_text(&sarif.stdout)).unwrap();
    let related = &doc["runs"][0]["results"][0]["relatedLocations"];
    assert_eq!(related[0]["message"]["text"], "the operand");
    assert_eq!(related[0]["physicalLocation"]["region"]["startLine"], 2);
    assert_eq!(related[1]["message"]["text"], "in this function");
    // No labels: the whole match, primary.
    std::fs::write(
        dir.path().join("n.yml"),
        "id: n\nlanguage: python\nrule:\n  pattern: $A == None\n",
    )
    .unwrap();
    let out = run_refactor(
        dir.path(),
        &["check", "--format", "json", "--rule", "n.yml", "l.py"],
    );
    let rec: Value = serde_json::from_str(out_text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(rec["labels"][0]["text"], "a == None");
    assert_eq!(rec["labels"][0]["style"], "primary");
    assert!(rec["labels"][0].get("message").is_none());
    // No labels but relational rules: the nodes they found are secondary
    // labels, in ast-grep's order (sg: `f`, then the function).
    std::fs::write(
        dir.path().join("s.yml"),
        "id: s\nlanguage: python\nrule:\n  pattern: $A == None\n  inside:\n    kind: function_definition\n    stopBy: end\n    has:\n      field: name\n      pattern: $F\n",
    )
    .unwrap();
    let out = run_refactor(
        dir.path(),
        &["check", "--format", "json", "--rule", "s.yml", "l.py"],
    );
    let rec: Value = serde_json::from_str(out_text(&out.stdout).lines().next().unwrap()).unwrap();
    let styles: Vec<(&str, &str)> = rec["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["text"].as_str().unwrap(), l["style"].as_str().unwrap()))
        .collect();
    assert_eq!(
        styles,
        vec![
            ("a == None", "primary"),
            ("f", "secondary"),
            ("def f(a, b):\n    return a == None", "secondary")
        ]
    );
    // A label on a metavariable the rule never binds is refused.
    std::fs::write(
        dir.path().join("b.yml"),
        "id: b\nlanguage: python\nrule:\n  pattern: $A == None\nlabels:\n  Z:\n    style: primary\n",
    )
    .unwrap();
    let out = run_refactor(dir.path(), &["check", "--rule", "b.yml", "l.py"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out_text(&out.stderr).contains("b.yml:6:"),
        "{}",
        out_text(&out.stderr)
    );
}

fn run_refactor(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_refactor"))
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn out_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
