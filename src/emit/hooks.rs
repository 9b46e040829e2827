//! Git hooks around `--commit`, run as `git commit <paths>` runs them:
//! from `core.hooksPath` (relative to the working tree) or the repository's
//! `hooks` folder, only when executable, with the working tree as the
//! current folder, `GIT_INDEX_FILE` naming the index the commit is made
//! from, `GIT_EDITOR=:`, no stdin, and their stdout and stderr on our stderr.

use anyhow::Context;
use git2::Repository;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// The folder hooks are taken from.
pub fn hooks_dir(repo: &Repository) -> PathBuf {
    let workdir = repo.workdir().unwrap_or_else(|| repo.path());
    match repo
        .config()
        .and_then(|mut c| c.snapshot())
        .and_then(|c| c.get_path("core.hooksPath"))
    {
        Ok(p) if p.is_absolute() => p,
        Ok(p) => workdir.join(p),
        Err(_) => repo.commondir().join("hooks"),
    }
}

/// Runs hook `name` with `args` when it exists; `None` when there is none
/// (or it is not executable, which git also skips, with a hint).
pub fn run(
    repo: &Repository,
    name: &str,
    args: &[&OsStr],
    index_file: &Path,
    quiet: bool,
) -> anyhow::Result<Option<ExitStatus>> {
    let path = hooks_dir(repo).join(name);
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(None);
    };
    if !meta.is_file() {
        return Ok(None);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            if !quiet {
                eprintln!(
                    "hint: the {name} hook ({}) was ignored because it is not executable",
                    path.display()
                );
            }
            return Ok(None);
        }
    }
    let _ = quiet;
    let workdir = repo.workdir().unwrap_or_else(|| repo.path());
    let status = Command::new(&path)
        .args(args)
        .current_dir(workdir)
        .env("GIT_INDEX_FILE", index_file)
        .env("GIT_EDITOR", ":")
        .stdin(Stdio::null())
        .stdout(stdout_to_stderr())
        .status()
        .with_context(|| format!("cannot run the {name} hook {}", path.display()))?;
    Ok(Some(status))
}

/// Hooks write to our stderr (as with git), keeping stdout for diffs and reports.
fn stdout_to_stderr() -> Stdio {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            return Stdio::from(fd);
        }
    }
    Stdio::inherit()
}

/// How a hook ended, in words: "exit status 1", "killed by signal 9".
pub fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    status.to_string()
}

/// git's `--cleanup=whitespace`: trailing whitespace removed from every
/// line, runs of empty lines collapsed, no empty lines at either end, one
/// final newline. Empty when nothing is left.
pub fn cleanup_message(text: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cleanup_message;

    #[test]
    fn message_cleanup_is_gits_whitespace_mode() {
        assert_eq!(
            cleanup_message("\n\nsubject  \n\n\n\nbody\t\nSigned-off-by: x\n\n"),
            "subject\n\nbody\nSigned-off-by: x\n"
        );
        assert_eq!(cleanup_message(" \n\t\n"), "");
    }
}
