//! `--commit`: write the changed files and commit exactly those, in one
//! commit whose message names the rules.
//!
//! The commit's tree is HEAD's tree plus our files (not the index), so
//! changes the user staged elsewhere are never swept into it. A touched file
//! with uncommitted changes is refused unless `allow_dirty`, before anything
//! is written.

use crate::emit::write::{undo, write_all, Target};
use anyhow::{bail, Context};
use git2::{IndexEntry, IndexTime, Repository, Status};
use std::path::Path;

/// Files whose working copy or index differs from HEAD.
pub fn dirty_files(repo: &Repository, rels: &[String]) -> anyhow::Result<Vec<String>> {
    let mut dirty = Vec::new();
    for rel in rels {
        let st = repo.status_file(Path::new(rel)).unwrap_or(Status::WT_NEW);
        if !(st.is_empty() || st == Status::CURRENT) {
            dirty.push(rel.clone());
        }
    }
    Ok(dirty)
}

pub fn open_repo(root: &Path) -> anyhow::Result<Repository> {
    Repository::discover(root).with_context(|| {
        format!(
            "--commit needs a git repository, and {} is not inside one",
            root.display()
        )
    })
}

/// The repository-relative `/`-separated path of a resolved file, or an
/// error when it lies outside the working tree (a symbolic link leading out
/// of the repository, or a file named from elsewhere).
pub fn repo_path(repo: &Repository, t: &Target) -> anyhow::Result<String> {
    let workdir = repo
        .workdir()
        .context("--commit needs a repository with a working tree")?;
    let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
    let rel = t.real.strip_prefix(&workdir).map_err(|_| {
        anyhow::anyhow!(
            "refusing to commit {}: it resolves to {}, outside the repository {}",
            t.file.path.display(),
            t.real.display(),
            workdir.display()
        )
    })?;
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// Checks that committing is possible (every file inside the working tree,
/// clean unless `allow_dirty`). Call before writing anything.
pub fn preflight(repo: &Repository, targets: &[Target], allow_dirty: bool) -> anyhow::Result<()> {
    if repo.workdir().is_none() {
        bail!("--commit needs a repository with a working tree");
    }
    let mut rels = Vec::new();
    for t in targets {
        rels.push(repo_path(repo, t)?);
    }
    if !allow_dirty {
        let dirty = dirty_files(repo, &rels)?;
        if !dirty.is_empty() {
            bail!(
                "refusing to commit: {} file(s) to change have uncommitted changes ({}); commit or stash them, or pass --allow-dirty",
                dirty.len(),
                dirty.join(", ")
            );
        }
    }
    Ok(())
}

/// Writes the files and commits them. Returns the new commit id. When the
/// commit cannot be made, the files are restored.
pub fn write_and_commit(
    repo: &Repository,
    targets: &[Target],
    rule_ids: &[String],
) -> anyhow::Result<git2::Oid> {
    let rels = targets
        .iter()
        .map(|t| repo_path(repo, t))
        .collect::<anyhow::Result<Vec<String>>>()?;
    write_all(targets)?;
    record(repo, targets, &rels, rule_ids).map_err(|e| undo(targets, e))
}

fn record(
    repo: &Repository,
    targets: &[Target],
    rels: &[String],
    rule_ids: &[String],
) -> anyhow::Result<git2::Oid> {
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let mut idx = git2::Index::new()?;
    if let Some(h) = &head {
        idx.read_tree(&h.tree()?)?;
    }
    for (t, rel) in targets.iter().zip(rels) {
        let new = t.new_text();
        let mode = idx
            .get_path(Path::new(rel), 0)
            .map(|e| e.mode)
            .unwrap_or(0o100644);
        let blob = repo.blob(new.as_bytes())?;
        let entry = IndexEntry {
            ctime: IndexTime::new(0, 0),
            mtime: IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode,
            uid: 0,
            gid: 0,
            file_size: new.len() as u32,
            id: blob,
            flags: 0,
            flags_extended: 0,
            path: rel.as_bytes().to_vec(),
        };
        idx.add(&entry)?;
    }
    let tree_id = idx.write_tree_to(repo)?;
    let tree = repo.find_tree(tree_id)?;
    let sig = repo
        .signature()
        .or_else(|_| git2::Signature::now("refactor", "refactor@localhost"))?;
    let mut names: Vec<&str> = rule_ids.iter().map(String::as_str).collect();
    names.sort();
    names.dedup();
    let message = format!(
        "refactor: apply {}\n\nRewrote {} file(s) with rule(s): {}.\n",
        names.join(", "),
        targets.len(),
        names.join(", ")
    );
    let parents: Vec<&git2::Commit> = head.iter().collect();
    let oid = repo.commit(Some("HEAD"), &sig, &sig, &message, &tree, &parents)?;
    // Keep the real index in step for the files we committed only.
    let mut real = repo.index()?;
    for rel in rels {
        real.add_path(Path::new(rel))?;
    }
    real.write()?;
    Ok(oid)
}
