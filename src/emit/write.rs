//! Atomic writes: a temporary file in the same folder, flushed, given the
//! original's permissions, then renamed over the original. A crash leaves
//! either the old file or the new one, never half of each.

use std::io::Write;
use std::path::Path;

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
