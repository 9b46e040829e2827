//! Atomic writes: a temporary file in the same folder, flushed, given the
//! original's permissions, then renamed over the original. A crash leaves
//! either the old file or the new one, never half of each.

use crate::pipeline::FileResult;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Component, Path, PathBuf};

pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let meta = std::fs::metadata(path).ok();
    let mut tmp = tempfile::Builder::new()
        .prefix(".refactor-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Some(m) = meta {
        std::fs::set_permissions(tmp.path(), m.permissions())?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
                    "{} is a symbolic link to {}, outside {}; refusing to write through it",
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
