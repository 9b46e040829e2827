//! `--commit`: write the changed files and commit exactly those, in one
//! commit whose message names the rules.
//!
//! The commit's tree is HEAD's tree plus our files (not the index), so
//! changes the user staged elsewhere are never swept into it. A touched file
//! with uncommitted changes is refused unless `allow_dirty`, before anything
//! is written.
//!
//! Steps, in this order, so that an interruption leaves the old state or the
//! new one: (1) write the files ([`write_all`]: compare before rename, Ctrl-C
//! restores); (2) a temporary index, HEAD's tree plus our files, for the
//! `pre-commit` and `commit-msg` hooks (as `git commit <paths>`); (3) the
//! commit object; (4) the real index, only the commit's paths updated; (5)
//! HEAD. A failure or a signal before (4) restores the files; (4) and (5)
//! are finished once begun, and if (5) fails the index is put back too.
//! Killed between (4) and (5), the index holds exactly our rewrites (staged,
//! as in the files) and HEAD the old commit. Then `post-commit` runs.

use crate::emit::hooks;
use crate::emit::interrupt::{self, Interrupted};
use crate::emit::write::{temp_prefix, undo, write_all, Target};
use anyhow::{anyhow, bail, Context};
use git2::{IndexEntry, IndexTime, Oid, Repository, RepositoryState, Status};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

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
    crate::results::slash_path(rel).with_context(|| {
        format!(
            "refusing to commit {}: its name is not valid UTF-8",
            rel.display()
        )
    })
}

/// Checks that committing is possible (every file inside the working tree,
/// clean unless `allow_dirty`). Call before writing anything.
pub fn preflight(repo: &Repository, targets: &[Target], allow_dirty: bool) -> anyhow::Result<()> {
    if repo.workdir().is_none() {
        bail!("--commit needs a repository with a working tree");
    }
    if repo.state() != RepositoryState::Clean {
        bail!(
            "refusing to commit: a {:?} is in progress in this repository; finish or abort it first",
            repo.state()
        );
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

/// Options of [`write_and_commit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitOptions {
    /// Skip the `pre-commit` and `commit-msg` hooks (`--no-verify`).
    pub no_verify: bool,
    pub quiet: bool,
}

/// Where HEAD points: a branch (possibly unborn) or a commit (detached).
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeadState {
    branch: Option<String>,
    commit: Option<Oid>,
}

fn head_state(repo: &Repository) -> anyhow::Result<HeadState> {
    let head = repo.find_reference("HEAD").context("cannot read HEAD")?;
    Ok(match head.symbolic_target() {
        Some(name) => HeadState {
            branch: Some(name.to_string()),
            commit: repo.refname_to_id(name).ok(),
        },
        None => HeadState {
            branch: None,
            commit: head.target(),
        },
    })
}

/// A temporary index file in the git folder, removed when dropped.
struct TempIndex(PathBuf);

impl Drop for TempIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut lock = self.0.clone().into_os_string();
        lock.push(".lock");
        let _ = std::fs::remove_file(lock);
    }
}

/// Everything of the commit but the index and HEAD updates.
struct Prepared {
    oid: Oid,
    subject: String,
    old_tree: Option<Oid>,
    new_tree: Oid,
}

/// Writes the files and commits them; returns the new commit id. When the
/// commit cannot be made (a hook fails, a signal, an error), the files are
/// restored and HEAD and the index are left as they were.
pub fn write_and_commit(
    repo: &Repository,
    targets: &[Target],
    rule_ids: &[String],
    opts: CommitOptions,
) -> anyhow::Result<Oid> {
    let rels = targets
        .iter()
        .map(|t| repo_path(repo, t))
        .collect::<anyhow::Result<Vec<String>>>()?;
    let head = head_state(repo)?;
    let metas = write_all(targets)?;
    // Our files' index entries: the new blob, and the stat data of the file
    // right after this run wrote it (so git sees them clean without rehashing,
    // and sees any later change).
    let mut ours: HashMap<String, IndexEntry> = HashMap::new();
    let prepared = (|| {
        let head_tree = match head.commit {
            Some(c) => Some(repo.find_commit(c)?.tree()?),
            None => None,
        };
        for ((t, rel), meta) in targets.iter().zip(&rels).zip(&metas) {
            let id = repo.blob(t.new_text().as_bytes())?;
            let mode = head_tree
                .as_ref()
                .and_then(|tr| tr.get_path(Path::new(rel)).ok())
                .map(|e| e.filemode() as u32)
                .filter(|m| *m == 0o100644 || *m == 0o100755)
                .unwrap_or_else(|| file_mode(meta));
            ours.insert(rel.clone(), stat_entry(meta, mode, id, rel));
        }
        prepare(repo, &head, head_tree, &ours, rule_ids, targets.len(), opts)
    })();
    let prepared = prepared.map_err(|e| undo(targets, e))?;

    // Point of no return: the index, then HEAD; signals wait until both are done.
    let previous = update_index(repo, &prepared, &ours).map_err(|e| {
        undo(
            targets,
            e.context("cannot update the index; nothing was committed"),
        )
    })?;
    if let Err(e) = move_head(repo, &head, prepared.oid, &prepared.subject) {
        let e = anyhow!(e).context("cannot move HEAD to the new commit; nothing was committed");
        let e = match restore_index(repo, &previous) {
            Ok(()) => e,
            Err(ie) => e.context(format!(
                "the index could not be put back ({ie:#}); `git reset` fixes it"
            )),
        };
        return Err(undo(targets, e));
    }
    let index_path = repo.path().join("index");
    if let Some(st) = hooks::run(repo, "post-commit", &[], &index_path, opts.quiet)? {
        if !st.success() && !opts.quiet {
            eprintln!(
                "warning: the post-commit hook failed ({}); the commit stands",
                hooks::describe(st)
            );
        }
    }
    Ok(prepared.oid)
}

/// Steps 2 and 3: temporary index, hooks, message, commit object. Stops
/// with [`Interrupted`] when a signal arrived.
fn prepare(
    repo: &Repository,
    head: &HeadState,
    head_tree: Option<git2::Tree<'_>>,
    ours: &HashMap<String, IndexEntry>,
    rule_ids: &[String],
    count: usize,
    opts: CommitOptions,
) -> anyhow::Result<Prepared> {
    let check_signal = || match interrupt::pending() {
        Some(signal) => Err(anyhow::Error::new(Interrupted {
            signal,
            note: String::new(),
        })),
        None => Ok(()),
    };
    let tmp = TempIndex(repo.path().join(format!("{}index.tmp", temp_prefix())));
    let _ = std::fs::remove_file(&tmp.0);
    let mut idx = git2::Index::open(&tmp.0)?;
    if let Some(t) = &head_tree {
        idx.read_tree(t)?;
    }
    let mut paths: Vec<&String> = ours.keys().collect();
    paths.sort();
    for p in paths {
        idx.add(&ours[p])?;
    }
    idx.write()?;

    if !opts.no_verify {
        if let Some(st) = hooks::run(repo, "pre-commit", &[], &tmp.0, opts.quiet)? {
            check_signal()?;
            if !st.success() {
                bail!(
                    "the pre-commit hook failed ({}); nothing was committed",
                    hooks::describe(st)
                );
            }
        }
    }
    check_signal()?;

    let mut names: Vec<&str> = rule_ids.iter().map(String::as_str).collect();
    names.sort();
    names.dedup();
    let mut message = format!(
        "refactor: apply {}\n\nRewrote {} file(s) with rule(s): {}.\n",
        names.join(", "),
        count,
        names.join(", ")
    );
    let msg_file = repo.path().join("COMMIT_EDITMSG");
    std::fs::write(&msg_file, &message)
        .with_context(|| format!("cannot write {}", msg_file.display()))?;
    if !opts.no_verify {
        let args = [msg_file.as_os_str()];
        if let Some(st) = hooks::run(repo, "commit-msg", &args as &[&OsStr], &tmp.0, opts.quiet)? {
            check_signal()?;
            if !st.success() {
                bail!(
                    "the commit-msg hook failed ({}); nothing was committed",
                    hooks::describe(st)
                );
            }
            let edited = std::fs::read_to_string(&msg_file)
                .with_context(|| format!("cannot read {}", msg_file.display()))?;
            message = hooks::cleanup_message(&edited);
            if message.is_empty() {
                bail!("the commit-msg hook left an empty commit message; nothing was committed");
            }
        }
    }
    check_signal()?;

    // The hooks may have staged more in the temporary index: commit what it holds.
    idx.read(true)?;
    let tree_id = idx.write_tree_to(repo)?;
    let new_tree = repo.find_tree(tree_id)?;
    let sig = repo
        .signature()
        .or_else(|_| git2::Signature::now("refactor", "refactor@localhost"))?;
    let parent = match head.commit {
        Some(c) => Some(repo.find_commit(c)?),
        None => None,
    };
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    let oid = repo.commit(None, &sig, &sig, &message, &new_tree, &parents)?;
    check_signal()?;
    if head_state(repo)? != *head {
        bail!("HEAD moved while refactor was committing; nothing was committed");
    }
    let subject = message.lines().next().unwrap_or_default().to_string();
    Ok(Prepared {
        oid,
        subject,
        old_tree: head_tree.as_ref().map(|t| t.id()),
        new_tree: tree_id,
    })
}

/// The index entries a commit replaced, to put them back.
type Previous = Vec<(PathBuf, Option<IndexEntry>)>;

/// Step 4: every path the commit changes gets the commit's version in the
/// real index (our files with their stat data); other entries, staged or
/// not, are left alone.
fn update_index(
    repo: &Repository,
    p: &Prepared,
    ours: &HashMap<String, IndexEntry>,
) -> anyhow::Result<Previous> {
    let old = p.old_tree.map(|id| repo.find_tree(id)).transpose()?;
    let new = repo.find_tree(p.new_tree)?;
    let diff = repo.diff_tree_to_tree(old.as_ref(), Some(&new), None)?;
    let mut index = repo.index()?;
    index.read(true)?;
    let mut previous = Vec::new();
    for d in diff.deltas() {
        let file = d.new_file();
        let path = file
            .path()
            .or(d.old_file().path())
            .context("a changed path cannot be read")?
            .to_path_buf();
        previous.push((path.clone(), index.get_path(&path, 0)));
        if d.status() == git2::Delta::Deleted {
            index.remove_path(&path)?;
            continue;
        }
        let rel = crate::results::slash_path(&path)
            .with_context(|| format!("{}: the name is not valid UTF-8", path.display()))?;
        let mode = u32::from(file.mode());
        let new_entry = match ours.get(&rel) {
            Some(e) if e.id == file.id() && e.mode == mode => copy_entry(e),
            // Changed by a hook: no stat data, so git looks at the file.
            _ => entry(mode, file.id(), file.size() as u32, &rel),
        };
        index.add(&new_entry)?;
    }
    index.write()?;
    Ok(previous)
}

fn restore_index(repo: &Repository, previous: &Previous) -> anyhow::Result<()> {
    let mut index = repo.index()?;
    index.read(true)?;
    for (path, entry) in previous {
        match entry {
            Some(e) => index.add(e)?,
            None => index.remove_path(path)?,
        }
    }
    index.write()?;
    Ok(())
}

/// Step 5: the branch HEAD names (or a detached HEAD) moves to `oid`, only
/// if it is still where it was.
fn move_head(repo: &Repository, head: &HeadState, oid: Oid, subject: &str) -> anyhow::Result<()> {
    let msg = match head.commit {
        Some(_) => format!("commit: {subject}"),
        None => format!("commit (initial): {subject}"),
    };
    match (&head.branch, head.commit) {
        (Some(b), Some(old)) => repo.reference_matching(b, oid, true, old, &msg)?,
        (Some(b), None) => repo.reference(b, oid, false, &msg)?,
        (None, Some(old)) => repo.reference_matching("HEAD", oid, true, old, &msg)?,
        (None, None) => bail!("HEAD names no commit and no branch"),
    };
    Ok(())
}

/// An index entry without stat data.
fn entry(mode: u32, id: Oid, size: u32, rel: &str) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: size,
        id,
        flags: 0,
        flags_extended: 0,
        path: rel.as_bytes().to_vec(),
    }
}

fn copy_entry(e: &IndexEntry) -> IndexEntry {
    IndexEntry {
        ctime: e.ctime,
        mtime: e.mtime,
        dev: e.dev,
        ino: e.ino,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        file_size: e.file_size,
        id: e.id,
        flags: e.flags,
        flags_extended: e.flags_extended,
        path: e.path.clone(),
    }
}

/// An index entry with the stat data of a file this run just wrote (git's
/// index keeps them truncated to 32 bits).
fn stat_entry(meta: &Metadata, mode: u32, id: Oid, rel: &str) -> IndexEntry {
    let mut e = entry(mode, id, meta.len() as u32, rel);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        e.ctime = IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32);
        e.mtime = IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32);
        e.dev = meta.dev() as u32;
        e.ino = meta.ino() as u32;
        e.uid = meta.uid();
        e.gid = meta.gid();
    }
    e
}

/// The git mode of a file that is not in HEAD yet.
fn file_mode(meta: &Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 != 0 {
            return 0o100755;
        }
    }
    let _ = meta;
    0o100644
}
