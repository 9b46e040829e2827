//! SIGKILL and SIGINT at many moments of `apply --write` and `apply --commit`
//! on a real repository of small Python files.
//!
//! After every kill:
//! - each file is byte for byte its original text or its rewritten text;
//! - HEAD is the base commit or a new commit on top of it holding every
//!   rewrite; the index agrees with HEAD, except when the kill fell between
//!   the index write and the HEAD move: then the index holds exactly our
//!   rewrites (all of them, as in the files), so `git diff --cached` shows
//!   just the rewrite and nothing reverts it;
//! - a Ctrl-C (SIGINT) is all or nothing: every file original (exit 130, or
//!   killed before writing began) or every file rewritten (exit 0);
//! - `git fsck` is clean, and the next, uninterrupted run succeeds and
//!   leaves no `.refactor-*` temporary behind.
//!
//! Kill moments: as soon as the first file is rewritten, then spread from
//! there to the end of an uninterrupted run. Trials alternate between a rule
//! and its inverse, so no trial has to reset the tree.
#![cfg(unix)]

mod common;

use common::repo::*;
use common::{refactor, stderr};
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::Output;
use std::time::{Duration, Instant};

const FILES: usize = 100;

fn lines(s: &str) -> BTreeSet<String> {
    s.lines().map(str::to_string).collect()
}

/// Checks the state a killed run left; returns which of the allowed states it is.
fn check(
    s: &Sandbox,
    files: &[(String, String, String)],
    base: &str,
    what: &str,
    sig: i32,
    out: &Output,
) -> &'static str {
    let ctx = format!("{what}: {:?}\n{}", out.status, stderr(out));
    let mut rewritten = BTreeSet::new();
    for (rel, orig, new) in files {
        let text = s.read(rel);
        if &text == new {
            rewritten.insert(rel.clone());
        } else {
            assert_eq!(
                &text, orig,
                "{ctx}\n{rel} is neither original nor rewritten"
            );
        }
    }
    if sig == libc::SIGKILL {
        // A kill inside git's own lock window (a few hundred microseconds)
        // leaves its lock file, exactly as a killed `git commit` would.
        for l in [
            ".git/index.lock",
            ".git/refs/heads/main.lock",
            ".git/HEAD.lock",
        ] {
            let _ = std::fs::remove_file(s.repo().join(l));
        }
    }
    let all: BTreeSet<String> = files.iter().map(|f| f.0.clone()).collect();
    let head = s.head();
    let staged = lines(&s.git(&["diff", "--cached", "--name-only"]));
    let unstaged = lines(&s.git(&["diff", "--name-only"]));
    if head == base {
        if staged.is_empty() {
            // Index = HEAD; the working tree differs by the files written so far.
            assert_eq!(unstaged, rewritten, "{ctx}");
        } else {
            // Killed between the index write and the HEAD move.
            assert_eq!(sig, libc::SIGKILL, "{ctx}");
            assert_eq!(staged, all, "{ctx}: the index holds part of the rewrite");
            assert_eq!(rewritten, all, "{ctx}");
            assert!(
                unstaged.is_empty(),
                "{ctx}: the index differs from the files"
            );
        }
    } else {
        assert_eq!(s.git(&["rev-parse", "HEAD^"]).trim(), base, "{ctx}");
        assert!(
            staged.is_empty(),
            "{ctx}: HEAD moved but the index is stale: {staged:?}"
        );
        assert!(unstaged.is_empty(), "{ctx}: {unstaged:?}");
        assert_eq!(rewritten, all, "{ctx}");
        let committed = lines(&s.git(&["diff", "--name-only", base, "HEAD"]));
        assert_eq!(committed, all, "{ctx}");
    }
    if sig == libc::SIGINT {
        match out.status.code() {
            Some(130) => assert!(rewritten.is_empty() && head == base, "{ctx}"),
            Some(0) => assert_eq!(rewritten, all, "{ctx}"),
            None => {
                assert_eq!(out.status.signal(), Some(libc::SIGINT), "{ctx}");
                assert!(rewritten.is_empty() && head == base, "{ctx}");
            }
            Some(c) => panic!("{ctx}: exit code {c}"),
        }
    }
    let fsck = git_output(&s.repo(), &["fsck", "--no-progress"]);
    assert!(
        fsck.status.success(),
        "{ctx}: git fsck: {}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    match (head == base, staged.is_empty(), rewritten.len()) {
        (false, _, _) => "committed",
        (true, false, _) => "staged, HEAD not moved",
        (true, true, 0) => "untouched",
        (true, true, n) if n == FILES => "all written",
        _ => "partly written",
    }
}

/// `$A is None` → `$A == None`: undoes `EQ_NONE`, so trials alternate
/// directions instead of resetting the tree.
const BACK: &str = "id: back\nlanguage: python\nrule:\n  pattern: $A is None\nfix: $A == None\n";

#[test]
fn killed_runs_leave_the_old_state_or_the_new_one() {
    let s = Sandbox::new();
    let mut files = many_files(&s, FILES);
    let mut base = s.commit_all("base");
    std::fs::write(s.tmp.path().join("back.yml"), BACK).unwrap();
    let mut rules = [s.rule("eq.yml"), s.rule("back.yml")];
    let started = Instant::now();
    let mut trials = 0;
    let mut seen = std::collections::BTreeMap::new();
    for mode in ["--write", "--commit"] {
        // An uninterrupted run there and back sets the kill moments: from its
        // first write (`first`) to its end (`full`).
        let t0 = Instant::now();
        let mut child = refactor_command(&s.repo(), &["apply", "-r", &rules[0], mode, "."])
            .spawn()
            .unwrap();
        let path = s.repo().join(&files[0].0);
        wait_for_content(&mut child, &path, &files[0].2, Duration::from_secs(60));
        let first = t0.elapsed();
        let out = child.wait_with_output().unwrap();
        let full = t0.elapsed();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let out = refactor(&s.repo(), &["apply", "-r", &rules[1], mode, "."]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        if mode == "--commit" {
            base = s.head();
        }
        for sig in [libc::SIGKILL, libc::SIGINT] {
            // Step 0: as soon as the first file is rewritten; then spread
            // over the writing and committing part of a run, to its end.
            for step in 0..5u32 {
                let args = ["apply", "-r", rules[0].as_str(), mode, "."];
                let t0 = Instant::now();
                let mut child = refactor_command(&s.repo(), &args).spawn().unwrap();
                if step == 0 {
                    let first = s.repo().join(&files[0].0);
                    wait_for_content(&mut child, &first, &files[0].2, Duration::from_secs(60));
                } else {
                    let at = first + full.saturating_sub(first) * step / 4;
                    std::thread::sleep(at.saturating_sub(t0.elapsed()));
                }
                signal(&child, sig);
                let out = child.wait_with_output().unwrap();
                let what = format!("{mode} signal {sig} step {step} (run {first:?}..{full:?})");
                let state = check(&s, &files, &base, &what, sig, &out);
                *seen.entry(format!("{mode} {state}")).or_insert(0) += 1;
                let next = refactor(&s.repo(), &args);
                assert_eq!(
                    next.status.code(),
                    Some(0),
                    "{what}: next run: {}",
                    stderr(&next)
                );
                let left = temporaries(&s.repo());
                assert!(left.is_empty(), "{what}: temporaries left: {left:?}");
                for (rel, _, new) in &files {
                    assert_eq!(&s.read(rel), new, "{what}: after the next run");
                }
                // The rewritten tree is the next trial's original.
                if !s.git(&["status", "--porcelain"]).is_empty() {
                    s.git(&["commit", "-qam", "sync"]);
                }
                base = s.head();
                for f in &mut files {
                    std::mem::swap(&mut f.1, &mut f.2);
                }
                rules.swap(0, 1);
                trials += 1;
            }
        }
    }
    eprintln!("{trials} kills in {:?}: {seen:?}", started.elapsed());
}
