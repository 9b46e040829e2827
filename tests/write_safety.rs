//! `apply --write` / `--commit` under hostile conditions, on real git
//! repositories with the real binary: symlinks.
#![cfg(unix)]

mod common;

use common::repo::*;
use common::{refactor, stderr};
use std::os::unix::fs::symlink;
use std::path::Path;

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

// ---------------------------------------------------------------- symlinks

#[test]
fn commit_through_a_symlink_commits_the_target_and_keeps_the_link() {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    symlink("a.py", s.repo().join("link.py")).unwrap();
    let base = s.commit_all("base");
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--commit", "link.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(is_link(&s.repo().join("link.py")), "the link became a file");
    assert_eq!(s.read("a.py"), "x = a is None\n");
    assert_eq!(s.git(&["show", "HEAD:a.py"]), "x = a is None\n");
    assert_eq!(s.git(&["rev-parse", "HEAD^"]).trim(), base);
    assert_eq!(
        s.git(&["diff", "--name-only", "HEAD^", "HEAD"]),
        "a.py\n",
        "only the target is committed"
    );
    assert!(s
        .git(&["ls-tree", "HEAD", "link.py"])
        .starts_with("120000 "));
    assert_eq!(s.git(&["status", "--porcelain"]), "");
}

#[test]
fn write_through_a_symlink_keeps_the_link_and_rewrites_the_target_once() {
    let s = Sandbox::new();
    s.write("src/a.py", "x = a == None\n");
    symlink("a.py", s.repo().join("src/link.py")).unwrap();
    let rule = s.rule("eq.yml");

    let out = refactor(&s.repo(), &["apply", "-r", &rule, "--write", "src/link.py"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(is_link(&s.repo().join("src/link.py")));
    assert_eq!(s.read("src/a.py"), "x = a is None\n");

    // With --follow the link and its target are both walked: one file, one write.
    s.write("src/a.py", "x = a == None\n");
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &rule, "--write", "--follow", "src"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(is_link(&s.repo().join("src/link.py")));
    assert_eq!(s.read("src/a.py"), "x = a is None\n");
    assert!(
        stderr(&out).contains("1 files scanned, 1 matched, 1 changed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_symlink_leading_out_of_the_repository_is_refused() {
    let s = Sandbox::new();
    let outside = s.tmp.path().join("outside.py");
    std::fs::write(&outside, "x = a == None\n").unwrap();
    symlink("../outside.py", s.repo().join("link.py")).unwrap();
    s.write("b.py", "y = b == None\n");
    let base = s.commit_all("base");
    for mode in ["--commit", "--write"] {
        let out = refactor(
            &s.repo(),
            &["apply", "-r", &s.rule("eq.yml"), mode, "link.py", "b.py"],
        );
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
        assert!(stderr(&out).contains("outside"), "{mode}: {}", stderr(&out));
        assert!(is_link(&s.repo().join("link.py")), "{mode}");
        assert_eq!(
            std::fs::read_to_string(&outside).unwrap(),
            "x = a == None\n"
        );
        assert_eq!(s.read("b.py"), "y = b == None\n", "{mode}: nothing written");
        assert_eq!(s.head(), base);
        assert_eq!(s.git(&["status", "--porcelain"]), "");
    }
}
