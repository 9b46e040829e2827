//! The git repository around a run, in one place: finding the root that
//! diff paths are relative to, opening the repository for `--commit`, and
//! the files changed since a revision (`check --changed-since`).

use anyhow::Context;
use git2::Repository;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The repository root: the git work tree containing the first path (or
/// the current folder); without a repository, the current folder.
pub fn find_root() -> PathBuf {
    find_root_for(&[])
}

/// Like [`find_root`], starting from the first of `paths`.
pub fn find_root_for(paths: &[PathBuf]) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let start = paths
        .first()
        .map(|p| cwd.join(p))
        .unwrap_or_else(|| cwd.clone());
    git2::Repository::discover(&start)
        .ok()
        .and_then(|r| r.workdir().map(Path::to_path_buf))
        .unwrap_or(cwd)
}

/// The repository `--commit` writes to.
pub fn open_repo(root: &Path) -> anyhow::Result<Repository> {
    Repository::discover(root).with_context(|| {
        format!(
            "--commit needs a git repository, and {} is not inside one",
            root.display()
        )
    })
}

/// Files changed between `rev`'s merge base with HEAD and the working tree
/// (index and untracked files included, deletions left out, renames
/// followed), with their changed (added) line numbers when `lines` is set
/// (otherwise no patch text is computed and the sets stay empty).
pub fn changed_since(
    root: &Path,
    rev: &str,
    lines: bool,
) -> anyhow::Result<BTreeMap<String, BTreeSet<usize>>> {
    let repo = git2::Repository::discover(root).with_context(|| {
        format!(
            "--changed-since needs a git repository at {}",
            root.display()
        )
    })?;
    let target = repo
        .revparse_single(rev)
        .with_context(|| format!("--changed-since: unknown revision `{rev}`"))?
        .peel_to_commit()?;
    let head = repo.head()?.peel_to_commit()?;
    let base = repo.merge_base(head.id(), target.id()).with_context(|| {
        format!(
            "--changed-since: HEAD and `{rev}` have no common ancestor here \
             (a shallow clone? fetch the full history, e.g. fetch-depth: 0)"
        )
    })?;
    let base_tree = repo.find_commit(base)?.tree()?;
    let mut dopts = git2::DiffOptions::new();
    dopts
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .show_untracked_content(true)
        .context_lines(0);
    let mut d = repo.diff_tree_to_workdir_with_index(Some(&base_tree), Some(&mut dopts))?;
    let mut find = git2::DiffFindOptions::new();
    find.renames(true).for_untracked(true);
    d.find_similar(Some(&mut find))?;
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for delta in d.deltas() {
        if delta.status() == git2::Delta::Deleted {
            continue;
        }
        if let Some(p) = delta.new_file().path() {
            // A name that is not UTF-8 cannot be a walked file: left out.
            let Some(p) = crate::results::slash_path(p) else {
                continue;
            };
            out.entry(p).or_default();
        }
    }
    if !lines {
        return Ok(out);
    }
    d.foreach(
        &mut |_, _| true,
        None,
        None,
        Some(&mut |delta, _hunk, line| {
            if line.origin() == '+' {
                if let (Some(p), Some(n)) = (delta.new_file().path(), line.new_lineno()) {
                    if let Some(p) = crate::results::slash_path(p) {
                        out.entry(p).or_default().insert(n as usize);
                    }
                }
            }
            true
        }),
    )?;
    Ok(out)
}
