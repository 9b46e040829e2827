//! Real git repositories in temporary folders for the write-safety tests
//! (the `git` command line, no mocks), a `python` rule pair, and helpers to
//! start the real binary in the background and signal it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `$A == None` → `$A is None`.
pub const EQ_NONE: &str =
    "id: eq-none\nlanguage: python\nrule:\n  pattern: $A == None\nfix: $A is None\n";
/// `$A != None` → `$A is not None`.
pub const NE_NONE: &str =
    "id: ne-none\nlanguage: python\nrule:\n  pattern: $A != None\nfix: $A is not None\n";

/// A temporary folder holding a git repository (`repo/`) and rule files
/// beside it (so they are never walked or committed).
pub struct Sandbox {
    pub tmp: tempfile::TempDir,
}

impl Sandbox {
    /// An empty repository with a committer identity and branch `main`.
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().expect("tempdir");
        let s = Sandbox { tmp };
        std::fs::create_dir(s.repo()).expect("mkdir repo");
        git(&s.repo(), &["init", "-q", "-b", "main"]);
        git(&s.repo(), &["config", "user.name", "t"]);
        git(&s.repo(), &["config", "user.email", "t@example.com"]);
        std::fs::write(s.tmp.path().join("eq.yml"), EQ_NONE).expect("rule");
        std::fs::write(s.tmp.path().join("ne.yml"), NE_NONE).expect("rule");
        s
    }

    pub fn repo(&self) -> PathBuf {
        self.tmp.path().join("repo")
    }

    /// Absolute path of a rule file beside the repository (`eq.yml`, `ne.yml`).
    pub fn rule(&self, name: &str) -> String {
        self.tmp.path().join(name).to_string_lossy().into_owned()
    }

    pub fn write(&self, rel: &str, text: &str) {
        super::write(&self.repo().join(rel), text);
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.repo().join(rel)).expect("read")
    }

    /// `git add -A && git commit`; returns the new HEAD.
    pub fn commit_all(&self, msg: &str) -> String {
        git(&self.repo(), &["add", "-A"]);
        git(&self.repo(), &["commit", "-qm", msg]);
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.repo(), &["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.repo(), args)
    }
}

/// `count` files `pkg/mNNN.py`, each with one `== None` site; returns
/// (relative path, original text, text after `EQ_NONE`) per file, sorted.
pub fn many_files(s: &Sandbox, count: usize) -> Vec<(String, String, String)> {
    (0..count)
        .map(|i| {
            let rel = format!("pkg/m{i:03}.py");
            let orig = format!("def f{i}(a):\n    return a == None  # site {i}\n");
            let new = format!("def f{i}(a):\n    return a is None  # site {i}\n");
            s.write(&rel, &orig);
            (rel, orig, new)
        })
        .collect()
}

/// Runs git in `dir` and returns stdout; panics when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .output()
        .expect("run git")
}

/// `refactor ARGS` in `cwd`, not yet started (stdout and stderr piped).
pub fn refactor_command(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_refactor"));
    c.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[cfg(unix)]
pub fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a child we started and have not reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// Waits until `path` holds `text` (true) or `child` exits / `limit` passes
/// (false). Polls without sleeping long, to catch the first write of a run.
pub fn wait_for_content(child: &mut Child, path: &Path, text: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
            return true;
        }
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

/// Every `.refactor-*` temporary under `dir` (the git folder included).
pub fn temporaries(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy();
            n.starts_with(".refactor-") && (n.ends_with(".tmp") || n.ends_with(".lock"))
        })
        .map(|e| e.into_path())
        .collect()
}
