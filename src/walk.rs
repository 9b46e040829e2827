//! Stage 1: find the files to process ([`walk`]) and read each one
//! ([`load`], called by the worker that scans it, so a run holds the text
//! of the files it is working on and of those that matched, not all). A
//! file's language comes from its extension, or first from an ast-grep
//! project's `languageGlobs`.
//!
//! Honours .gitignore/.ignore (via `ignore`), skips hidden files, applies
//! `--include`/`--exclude` globs, never follows symlinks by default, and skips
//! binary, non-UTF-8 and oversized files with a note. Explicitly named files
//! are always taken (like ripgrep). A file reached through several paths (a
//! link and its target) is kept once. Output is sorted by path so every run
//! is deterministic whatever the thread count.

use crate::lang::Lang;
use globset::GlobSet;
use ignore::overrides::OverrideBuilder;
use ignore::WalkBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct WalkOptions {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub max_filesize: u64,
    pub follow_links: bool,
    pub hidden: bool,
    pub no_ignore: bool,
    pub threads: usize,
    /// Extra file-name globs per language (an ast-grep project's
    /// `languageGlobs`); they win over extensions, the first match counts.
    pub lang_globs: Vec<(Lang, GlobSet)>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            include: Vec::new(),
            exclude: Vec::new(),
            max_filesize: 8 * 1024 * 1024,
            follow_links: false,
            hidden: false,
            no_ignore: false,
            threads: 0,
            lang_globs: Vec::new(),
        }
    }
}

/// A file ready for matching.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as found (usable to open the file).
    pub path: PathBuf,
    pub lang: Lang,
    pub text: String,
}

/// Why a file was left out.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct WalkResult {
    pub files: Vec<SourceFile>,
    pub skipped: Vec<Skipped>,
}

/// A file found by the walk, not read yet.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    pub lang: Lang,
}

/// Walks `roots`, keeping files in one of `langs`, sorted by path.
pub fn walk(
    roots: &[PathBuf],
    langs: &[Lang],
    opts: &WalkOptions,
) -> anyhow::Result<Vec<Candidate>> {
    for r in roots {
        if !r.exists() {
            anyhow::bail!("{}: no such file or directory", r.display());
        }
    }
    let found: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut explicit = Vec::new();
    let mut dirs = Vec::new();
    for r in roots {
        if r.is_file() {
            explicit.push(r.clone());
        } else {
            dirs.push(r.clone());
        }
    }
    if let Some((first, rest)) = dirs.split_first() {
        let mut builder = WalkBuilder::new(first);
        for d in rest {
            builder.add(d);
        }
        builder
            .hidden(!opts.hidden)
            .follow_links(opts.follow_links)
            .git_ignore(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .require_git(false)
            .threads(opts.threads);
        if !opts.include.is_empty() || !opts.exclude.is_empty() {
            let mut ob = OverrideBuilder::new(first);
            for g in &opts.include {
                ob.add(g)
                    .map_err(|e| anyhow::anyhow!("invalid --include glob `{g}`: {e}"))?;
            }
            for g in &opts.exclude {
                ob.add(&format!("!{g}"))
                    .map_err(|e| anyhow::anyhow!("invalid --exclude glob `{g}`: {e}"))?;
            }
            builder.overrides(ob.build()?);
        }
        builder.build_parallel().run(|| {
            let found = &found;
            Box::new(move |entry| {
                if let Ok(e) = entry {
                    if e.file_type().is_some_and(|t| t.is_file()) {
                        found.lock().expect("walk lock").push(e.into_path());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut paths = found.into_inner().expect("walk lock");
    paths.extend(explicit);
    paths.sort();
    paths.dedup();
    // Only files of the run's languages; a file reached twice (a symlink and
    // its target, with --follow or both named) is processed once, so it is
    // rewritten once: under a path with no link in it when there is one,
    // else under the first path.
    let mut files: Vec<Candidate> = Vec::new();
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for path in paths {
        let Some(lang) = lang_of(&path, &opts.lang_globs).filter(|l| langs.contains(l)) else {
            continue;
        };
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        match seen.get(&real) {
            Some(&i) => {
                let direct = |p: &Path| std::path::absolute(p).is_ok_and(|a| a == real);
                if !direct(&files[i].path) && direct(&path) {
                    files[i].path = path;
                }
            }
            None => {
                seen.insert(real, files.len());
                files.push(Candidate { path, lang });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// The language of a file: by `lang_globs` on its name first, then by extension.
pub fn lang_of(path: &Path, lang_globs: &[(Lang, GlobSet)]) -> Option<Lang> {
    let by_glob = path.file_name().and_then(|name| {
        lang_globs
            .iter()
            .find(|(_, globs)| globs.is_match(name))
            .map(|(lang, _)| *lang)
    });
    by_glob.or_else(|| Lang::from_path(path))
}

/// [`walk`], then every file read (for callers that want all texts at
/// once; the pipeline reads each file in the worker that scans it).
pub fn walk_loaded(
    roots: &[PathBuf],
    langs: &[Lang],
    opts: &WalkOptions,
) -> anyhow::Result<WalkResult> {
    let found = walk(roots, langs, opts)?;
    use rayon::prelude::*;
    let loaded: Vec<Result<SourceFile, Skipped>> = found
        .par_iter()
        .map(|c| load(c, opts.max_filesize))
        .collect();
    let mut result = WalkResult::default();
    for l in loaded {
        match l {
            Ok(f) => result.files.push(f),
            Err(s) => result.skipped.push(s),
        }
    }
    Ok(result)
}

/// Reads a found file: skipped (with the reason) when larger than `max`
/// bytes, unreadable, binary or not UTF-8.
pub fn load(c: &Candidate, max: u64) -> Result<SourceFile, Skipped> {
    let (path, lang) = (c.path.as_path(), c.lang);
    let skip = |reason: String| Skipped {
        path: path.to_path_buf(),
        reason,
    };
    // Reports, diffs and git need the name as text.
    if path.to_str().is_none() {
        return Err(skip("the file name is not valid UTF-8".into()));
    }
    let meta = std::fs::metadata(path).map_err(|e| skip(format!("cannot read: {e}")))?;
    if meta.len() > max {
        return Err(skip(format!(
            "larger than --max-filesize ({} > {} bytes)",
            meta.len(),
            max
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| skip(format!("cannot read: {e}")))?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(skip("binary file".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| skip("not valid UTF-8".into()))?;
    Ok(SourceFile {
        path: path.to_path_buf(),
        lang,
        text,
    })
}
