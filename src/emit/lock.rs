//! One writing run at a time per repository.
//!
//! `apply --write` / `--commit` hold an exclusive lock (flock(2)) from
//! before the walk until after the last write or the commit, so a second run
//! on the same tree reads the files only once the first has written them,
//! and never undoes its edits. The lock file is `refactor.lock` in the git
//! folder (per worktree), or, outside a repository, a file in the system's
//! temporary folder named after a hash of the canonical root; the holder
//! removes it when done. The kernel drops the lock when the process dies,
//! however it dies.

use anyhow::{bail, Context};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held until dropped.
#[derive(Debug)]
pub struct RunLock {
    /// Kept open: closing it releases the lock.
    _file: File,
    pub path: PathBuf,
}

/// Where the lock for a run rooted at `root` lives.
pub fn lock_path(root: &Path) -> PathBuf {
    match git2::Repository::discover(root) {
        Ok(repo) => repo.path().join("refactor.lock"),
        Err(_) => {
            let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
            let hash = crate::pipeline::stable_hash(&canon.to_string_lossy());
            std::env::temp_dir().join(format!("refactor-{hash:016x}.lock"))
        }
    }
}

/// Takes the lock for `root`. When another run holds it: waits (saying so
/// on stderr unless `quiet`), or fails when `wait` is false.
pub fn acquire(root: &Path, wait: bool, quiet: bool) -> anyhow::Result<RunLock> {
    let path = lock_path(root);
    let mut said = false;
    loop {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the run lock {}", path.display()))?;
        if !try_lock(&file).with_context(|| format!("cannot lock {}", path.display()))? {
            if !wait {
                bail!(
                    "another refactor run is writing in this tree (it holds {}); not waiting (--no-wait)",
                    path.display()
                );
            }
            if !quiet && !said {
                eprintln!(
                    "refactor: waiting for another refactor run to finish (lock {})",
                    path.display()
                );
                said = true;
            }
            lock(&file).with_context(|| format!("cannot lock {}", path.display()))?;
        }
        // The holder removes the file when it is done; a lock on a removed
        // file guards nothing, so take the one at the path now.
        if same_file(&file, &path) {
            return Ok(RunLock { _file: file, path });
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked (see `acquire`), so no lock file is left
        // behind, in the git folder or the temporary folder.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, _path: &Path) -> bool {
    true
}

#[cfg(unix)]
fn flock(file: &File, op: libc::c_int) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock(2) on a descriptor this function borrows.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    flock(file, libc::LOCK_EX | libc::LOCK_NB)
}

#[cfg(unix)]
fn lock(file: &File) -> std::io::Result<()> {
    flock(file, libc::LOCK_EX).map(|_| ())
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(not(unix))]
fn lock(_file: &File) -> std::io::Result<()> {
    Ok(())
}
