//! `apply --write` / `--commit` under hostile conditions, on real git
//! repositories with the real binary: symlinks, a locked index or branch,
//! Ctrl-C and SIGTERM while writing, stale temporaries of killed runs, two
//! runs at once, a file changed behind the run's back, and git hooks.
#![cfg(unix)]

mod common;

use common::repo::*;
use common::{refactor, stderr};
use std::io::BufRead;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

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

// ------------------------------------------------- commit step ordering

#[test]
fn commit_with_a_locked_index_changes_nothing() {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    let base = s.commit_all("base");
    let lock = s.repo().join(".git/index.lock");
    std::fs::write(&lock, "").unwrap();
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--commit", "."],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(s.read("a.py"), "x = a == None\n", "the file is restored");
    assert_eq!(
        s.head(),
        base,
        "HEAD must not move when the index cannot be written"
    );
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(s.git(&["status", "--porcelain"]), "");
    assert!(temporaries(&s.repo()).is_empty());
}

#[test]
fn commit_with_a_locked_branch_changes_nothing() {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    let base = s.commit_all("base");
    let lock = s.repo().join(".git/refs/heads/main.lock");
    std::fs::write(&lock, "").unwrap();
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--commit", "."],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::remove_file(&lock).unwrap();
    assert_eq!(s.read("a.py"), "x = a == None\n", "the file is restored");
    assert_eq!(s.head(), base);
    assert_eq!(
        s.git(&["status", "--porcelain"]),
        "",
        "the index is restored too"
    );
}

// --------------------------------------------------- interrupts and races

/// Starts `args` on `count` files and sends `sig` once the first file is
/// rewritten; retries on a fresh tree when the run finished first.
fn interrupt_mid_write(
    args: &[&str],
    sig: i32,
) -> (
    Sandbox,
    Vec<(String, String, String)>,
    String,
    std::process::Output,
) {
    for _ in 0..4 {
        let s = Sandbox::new();
        let files = many_files(&s, 400);
        let base = s.commit_all("base");
        let rule = s.rule("eq.yml");
        let mut full = vec!["apply", "-r", rule.as_str()];
        full.extend_from_slice(args);
        let mut child = refactor_command(&s.repo(), &full).spawn().unwrap();
        let first = s.repo().join(&files[0].0);
        if wait_for_content(&mut child, &first, &files[0].2, Duration::from_secs(60)) {
            signal(&child, sig);
        }
        let out = child.wait_with_output().unwrap();
        if out.status.code() == Some(0) {
            continue; // the run ended before the signal landed: try again
        }
        return (s, files, base, out);
    }
    panic!("every run finished before it could be interrupted");
}

#[test]
fn ctrl_c_or_sigterm_while_writing_restores_every_file() {
    for (mode, sig, code) in [
        ("--write", libc::SIGINT, 130),
        ("--commit", libc::SIGINT, 130),
        ("--commit", libc::SIGTERM, 143),
    ] {
        let (s, files, base, out) = interrupt_mid_write(&[mode, "."], sig);
        assert_eq!(out.status.code(), Some(code), "{mode}: {}", stderr(&out));
        assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
        for (rel, orig, _) in &files {
            assert_eq!(&s.read(rel), orig, "{mode}: {rel} not restored");
        }
        assert_eq!(s.head(), base, "{mode}");
        assert_eq!(s.git(&["status", "--porcelain"]), "", "{mode}");
        assert_eq!(temporaries(&s.repo()), Vec::<std::path::PathBuf>::new());
    }
}

// ------------------------------------------------------------ temporaries

#[test]
fn stale_temporaries_of_dead_runs_are_removed() {
    let s = Sandbox::new();
    s.write("a/x.py", "x = a == None\n");
    s.write("b/y.py", "y = 1\n"); // walked, not changed
    let dead = {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        c.wait().unwrap();
        c.id()
    };
    let live = std::process::id();
    let stale_a = s.repo().join(format!("a/.refactor-{dead}-abc123.tmp"));
    let stale_b = s.repo().join(format!("b/.refactor-{dead}-def456.tmp"));
    let alive = s.repo().join(format!("a/.refactor-{live}-ghi789.tmp"));
    for p in [&stale_a, &stale_b, &alive] {
        std::fs::write(p, "half a file").unwrap();
    }
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--write", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(s.read("a/x.py"), "x = a is None\n");
    assert!(
        !stale_a.exists(),
        "temporary of a dead run left in a written folder"
    );
    assert!(
        !stale_b.exists(),
        "temporary of a dead run left in a walked folder"
    );
    assert!(alive.exists(), "a live run's temporary must be kept");
}

// ------------------------------------------------------------ concurrency

/// Holds `path` locked with flock(2) until dropped.
struct Flock(#[allow(dead_code)] std::fs::File);

impl Flock {
    fn take(path: &Path) -> Flock {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap();
        // SAFETY: flock on an open descriptor we own.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        Flock(f)
    }
}

/// Sends each stderr line of `child` down a channel.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a "waiting for another refactor run" line; returns every line seen.
fn wait_for_waiting(rx: &mpsc::Receiver<String>) -> Result<Vec<String>, Vec<String>> {
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => {
                let waiting = l.contains("waiting for another refactor run");
                seen.push(l);
                if waiting {
                    return Ok(seen);
                }
            }
            Err(_) => return Err(seen),
        }
    }
}

fn two_runs_at_once(mode: &str) -> Sandbox {
    let s = Sandbox::new();
    let n = 50;
    for i in 0..n {
        s.write(
            &format!("m{i:02}.py"),
            &format!("a{i} = x == None\nb{i} = y != None\n"),
        );
    }
    s.commit_all("base");
    // The test holds the run lock, so both runs are blocked before reading.
    let lock = Flock::take(&s.repo().join(".git/refactor.lock"));
    let (eq, ne) = (s.rule("eq.yml"), s.rule("ne.yml"));
    let mut a = refactor_command(&s.repo(), &["apply", "-r", &eq, mode, "."])
        .spawn()
        .unwrap();
    let mut b = refactor_command(&s.repo(), &["apply", "-r", &ne, mode, "."])
        .spawn()
        .unwrap();
    let (ra, rb) = (stderr_lines(&mut a), stderr_lines(&mut b));
    let wa = wait_for_waiting(&ra);
    let wb = wait_for_waiting(&rb);
    drop(lock);
    let (oa, ob) = (a.wait().unwrap(), b.wait().unwrap());
    let rest: Vec<String> = ra.try_iter().chain(rb.try_iter()).collect();
    assert!(
        wa.is_ok() && wb.is_ok(),
        "a run did not wait: {wa:?} {wb:?} {rest:?}"
    );
    assert_eq!((oa.code(), ob.code()), (Some(0), Some(0)), "{rest:?}");
    for i in 0..n {
        assert_eq!(
            s.read(&format!("m{i:02}.py")),
            format!("a{i} = x is None\nb{i} = y is not None\n"),
            "{mode}: an edit was lost"
        );
    }
    s
}

#[test]
fn two_write_runs_at_once_keep_both_rules_edits() {
    two_runs_at_once("--write");
}

#[test]
fn two_commit_runs_at_once_keep_both_rules_edits() {
    let s = two_runs_at_once("--commit");
    assert_eq!(s.git(&["status", "--porcelain"]), "");
    assert_eq!(s.git(&["rev-list", "--count", "HEAD"]).trim(), "3");
    let tree = s.git(&["show", "HEAD:m07.py"]);
    assert_eq!(tree, "a7 = x is None\nb7 = y is not None\n");
}

#[test]
fn no_wait_fails_at_once_when_another_run_holds_the_lock() {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    s.commit_all("base");
    let _lock = Flock::take(&s.repo().join(".git/refactor.lock"));
    let out = refactor(
        &s.repo(),
        &[
            "apply",
            "-r",
            &s.rule("eq.yml"),
            "--write",
            "--no-wait",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another refactor run"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.read("a.py"), "x = a == None\n");
}

#[test]
fn a_file_changed_behind_the_runs_back_is_not_overwritten() {
    for _ in 0..4 {
        let s = Sandbox::new();
        let files = many_files(&s, 400);
        s.write("pkg/z.py", "z = c == None\n");
        let mut child = refactor_command(
            &s.repo(),
            &["apply", "-r", &s.rule("eq.yml"), "--write", "."],
        )
        .spawn()
        .unwrap();
        let first = s.repo().join(&files[0].0);
        if !wait_for_content(&mut child, &first, &files[0].2, Duration::from_secs(60)) {
            let _ = child.wait();
            continue;
        }
        signal(&child, libc::SIGSTOP);
        wait_stopped(child.id());
        if s.read("pkg/z.py") != "z = c == None\n" {
            signal(&child, libc::SIGCONT);
            let _ = child.wait();
            continue; // the run got too far: try again
        }
        // Someone else edits the last file after the run read it.
        s.write("pkg/z.py", "z = c == None  # mine\n");
        signal(&child, libc::SIGCONT);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("pkg/z.py") && err.contains("changed"), "{err}");
        assert_eq!(s.read("pkg/z.py"), "z = c == None  # mine\n");
        for (rel, orig, _) in &files {
            assert_eq!(&s.read(rel), orig, "{rel}: exit 2 means nothing written");
        }
        assert!(temporaries(&s.repo()).is_empty());
        return;
    }
    panic!("could not stop a run in the middle of writing");
}

fn wait_stopped(pid: u32) {
    for _ in 0..5000 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state follows the parenthesized command name.
        if let Some(rest) = stat.rsplit(')').next() {
            if rest.trim_start().starts_with('T') {
                return;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    panic!("process {pid} did not stop");
}

// ------------------------------------------------------------------ hooks

fn hook(s: &Sandbox, dir: &str, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let p = s.repo().join(dir).join(name);
    common::write(&p, &format!("#!/bin/sh\n{body}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn hooks_run_as_git_commit_runs_them() {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    s.write("notes.txt", "v1\n");
    let rec = s.tmp.path().join("rec");
    std::fs::create_dir(&rec).unwrap();
    let r = rec.display();
    // core.hooksPath, relative to the working tree.
    hook(
        &s,
        "myhooks",
        "pre-commit",
        &format!(
            "pwd > {r}/pwd\ngit diff --cached --name-only > {r}/staged\ncat a.py > {r}/worktree"
        ),
    );
    hook(
        &s,
        "myhooks",
        "commit-msg",
        "echo 'Signed-off-by: hook' >> \"$1\"",
    );
    hook(
        &s,
        "myhooks",
        "post-commit",
        &format!("git rev-parse HEAD > {r}/post\ngit diff --cached --name-only > {r}/post-staged"),
    );
    s.commit_all("base");
    s.git(&["config", "core.hooksPath", "myhooks"]);
    // An unrelated staged change stays out of the commit and of the hook's index.
    s.write("notes.txt", "v2\n");
    s.git(&["add", "notes.txt"]);

    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--commit", "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let read = |n: &str| std::fs::read_to_string(rec.join(n)).unwrap_or_default();
    assert_eq!(
        Path::new(read("pwd").trim()).canonicalize().unwrap(),
        s.repo().canonicalize().unwrap()
    );
    assert_eq!(
        read("staged"),
        "a.py\n",
        "pre-commit sees HEAD plus our files"
    );
    assert_eq!(read("worktree"), "x = a is None\n");
    let msg = s.git(&["log", "-1", "--format=%B"]);
    assert!(msg.starts_with("refactor: apply eq-none"), "{msg}");
    assert!(
        msg.contains("Signed-off-by: hook"),
        "commit-msg edits are used: {msg}"
    );
    assert_eq!(
        read("post").trim(),
        s.head(),
        "post-commit runs after HEAD moved"
    );
    assert_eq!(read("post-staged"), "notes.txt\n");
    assert_eq!(s.git(&["status", "--porcelain"]), "M  notes.txt\n");
}

fn failing_hook_restores(name: &str) {
    let s = Sandbox::new();
    s.write("a.py", "x = a == None\n");
    let base = s.commit_all("base");
    hook(&s, ".git/hooks", name, "echo 'lint: bad style' >&2\nexit 1");
    let out = refactor(
        &s.repo(),
        &["apply", "-r", &s.rule("eq.yml"), "--commit", "."],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("lint: bad style") && err.contains(name),
        "{err}"
    );
    assert_eq!(s.read("a.py"), "x = a == None\n", "files are restored");
    assert_eq!(s.head(), base);
    assert_eq!(s.git(&["status", "--porcelain"]), "");
    assert!(temporaries(&s.repo()).is_empty());

    // --no-verify skips pre-commit and commit-msg, as with git.
    let out = refactor(
        &s.repo(),
        &[
            "apply",
            "-r",
            &s.rule("eq.yml"),
            "--commit",
            "--no-verify",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(s.git(&["show", "HEAD:a.py"]), "x = a is None\n");
    assert_eq!(s.git(&["status", "--porcelain"]), "");
}

#[test]
fn failing_pre_commit_hook_restores_files_and_exits_2() {
    failing_hook_restores("pre-commit");
}

#[test]
fn failing_commit_msg_hook_restores_files_and_exits_2() {
    failing_hook_restores("commit-msg");
}
