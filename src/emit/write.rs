//! Writing files: atomic replacement, compare-before-rename, all or nothing.
//!
//! Each file is replaced by a temporary in the same folder
//! (`.refactor-<pid>-<random>.tmp`), flushed, given the original's
//! permissions, then renamed over the original, so a crash leaves the old
//! file or the new one, never half of each. Right before the rename the file
//! must still hold the text the run read; if someone changed it meanwhile it
//! is not overwritten. [`write_all`] writes a run's files in order and, when
//! it cannot finish (a changed file, an I/O error, Ctrl-C / SIGTERM seen at a
//! file boundary), restores the files it already rewrote, so a failed run
//! leaves every file as it was. Temporaries of killed runs (dead pids) are
//! removed by the next writing run ([`remove_stale_temporaries`]).

use crate::emit::interrupt::{self, Interrupted};
use crate::results::FileResult;
use anyhow::{anyhow, bail, Context};
use std::fs::Metadata;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Why [`replace`] did not replace a file.
#[derive(Debug)]
pub enum ReplaceError {
    /// The file no longer holds the expected text.
    Changed,
    Io(std::io::Error),
}

impl From<std::io::Error> for ReplaceError {
    fn from(e: std::io::Error) -> Self {
        ReplaceError::Io(e)
    }
}

/// `.refactor-<pid>-`: the start of this process's temporary file names.
pub fn temp_prefix() -> String {
    format!(".refactor-{}-", std::process::id())
}

/// Replaces `path` by a file holding `contents`, atomically (temporary file,
/// then rename). With `expect`, the file must hold exactly that text right
/// before the rename, else it is left alone. Returns the new file's
/// metadata, taken after the rename.
pub fn replace(
    path: &Path,
    contents: &str,
    expect: Option<&str>,
) -> Result<Metadata, ReplaceError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let meta = std::fs::metadata(path).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix())
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Some(m) = meta {
        std::fs::set_permissions(tmp.path(), m.permissions())?;
    }
    if let Some(expect) = expect {
        // Dropping `tmp` removes the temporary.
        match std::fs::read(path) {
            Ok(now) if now == expect.as_bytes() => {}
            Ok(_) => return Err(ReplaceError::Changed),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReplaceError::Changed)
            }
            Err(e) => return Err(e.into()),
        }
    }
    let file = tmp.persist(path).map_err(|e| e.error)?;
    Ok(file.metadata()?)
}

/// Writes every target in order; returns each file's metadata right after
/// its rename. Before each file it stops if Ctrl-C or SIGTERM arrived; a file
/// that no longer holds the text that was read is not overwritten. On any
/// stop the files already rewritten are restored and the error says so
/// ([`Interrupted`] for a signal).
pub fn write_all(targets: &[Target]) -> anyhow::Result<Vec<Metadata>> {
    let mut metas = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let stop = if let Some(signal) = interrupt::pending() {
            anyhow::Error::new(Interrupted {
                signal,
                note: String::new(),
            })
        } else {
            match replace(&t.real, t.new_text(), Some(&t.file.original)) {
                Ok(m) => {
                    metas.push(m);
                    continue;
                }
                Err(ReplaceError::Changed) => anyhow!(
                    "{} changed on disk after it was read; it was not overwritten",
                    t.real.display()
                ),
                Err(ReplaceError::Io(e)) => {
                    anyhow!(e).context(format!("cannot write {}", t.real.display()))
                }
            }
        };
        return Err(undo(&targets[..i], stop));
    }
    Ok(metas)
}

/// Puts back the original text of `done` (files this run rewrote, newest
/// first) and returns `err` with a note on what was restored.
pub fn undo(done: &[Target], err: anyhow::Error) -> anyhow::Error {
    let mut problems = Vec::new();
    for t in done.iter().rev() {
        match replace(&t.real, &t.file.original, Some(t.new_text())) {
            Ok(_) => {}
            Err(ReplaceError::Changed) => problems.push(format!(
                "{} (changed again since this run wrote it)",
                t.real.display()
            )),
            Err(ReplaceError::Io(e)) => problems.push(format!("{} ({e})", t.real.display())),
        }
    }
    let note = if done.is_empty() {
        String::new()
    } else if problems.is_empty() {
        format!(
            "restored the {} file(s) already rewritten; nothing was changed",
            done.len()
        )
    } else {
        format!(
            "restored {} of the {} file(s) already rewritten; could not restore {}",
            done.len() - problems.len(),
            done.len(),
            problems.join(", ")
        )
    };
    match err.downcast::<Interrupted>() {
        Ok(mut i) => {
            i.note = note;
            i.into()
        }
        Err(err) if note.is_empty() => err,
        Err(err) => anyhow!("{err:#}; {note}"),
    }
}

/// Removes from `dirs` the temporaries (`.refactor-<pid>-….tmp`, and a
/// `….lock` beside one) of runs whose process no longer exists.
pub fn remove_stale_temporaries<I: IntoIterator<Item = PathBuf>>(dirs: I) {
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(temporary_pid) else {
                continue;
            };
            if pid != std::process::id() && !process_exists(pid) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// The pid in a temporary's name `.refactor-<pid>-<rest>.tmp` (or `.lock`).
fn temporary_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(".refactor-")?;
    if !(rest.ends_with(".tmp") || rest.ends_with(".lock")) {
        return None;
    }
    let (pid, _) = rest.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this id exists (when unsure: yes).
fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// A changed file and the file its bytes live in.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub file: &'a FileResult,
    /// The walked path with every symbolic link resolved: the file that is
    /// replaced, so a link stays a link and its target gets the new text.
    pub real: PathBuf,
}

impl Target<'_> {
    pub fn new_text(&self) -> &str {
        self.file
            .new_text
            .as_deref()
            .expect("only changed files are written")
    }
}

/// Resolves where each changed file is written. A path inside `root` whose
/// symbolic links lead outside it is refused (before anything is written);
/// a file reached twice is written once.
pub fn resolve_targets<'a>(
    files: &[&'a FileResult],
    root: &Path,
) -> anyhow::Result<Vec<Target<'a>>> {
    let canon_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let given_root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for f in files {
        let real = std::fs::canonicalize(&f.path)
            .with_context(|| format!("cannot resolve {}", f.path.display()))?;
        if !real.starts_with(&canon_root) {
            let walked = std::path::absolute(&f.path).unwrap_or_else(|_| f.path.clone());
            let walked = lexical(&walked);
            if walked.starts_with(&canon_root) || walked.starts_with(&given_root) {
                bail!(
                    "{} leads through a symbolic link to {}, outside {}; refusing to write there",
                    f.path.display(),
                    real.display(),
                    canon_root.display()
                );
            }
        }
        if seen.insert(real.clone()) {
            out.push(Target { file: f, real });
        }
    }
    Ok(out)
}

/// `path` with `.` and `..` folded, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_carry_the_pid() {
        assert_eq!(temporary_pid(".refactor-123-aB9x.tmp"), Some(123));
        assert_eq!(temporary_pid(".refactor-7-index.tmp.lock"), Some(7));
        assert_eq!(temporary_pid(".refactor-aB9x.tmp"), None);
        assert_eq!(temporary_pid(".refactor-12-x.py"), None);
        assert_eq!(temporary_pid("refactor-12-x.tmp"), None);
        assert!(temp_prefix().starts_with(&format!(".refactor-{}-", std::process::id())));
    }
}
