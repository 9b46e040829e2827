//! The `cargo check` checker. Each file's crate is the nearest folder above
//! it with a `Cargo.toml` (or the workspace above that, when one lists it);
//! the crate is copied once into a temporary folder (without `target/` and
//! `.git`), and each check writes the texts into the copy and runs `cargo
//! check --message-format=json --offline --all-targets` there (without
//! `--all-targets` when the baseline cannot build the tests and examples,
//! and without the dev-dependencies when cargo cannot resolve them offline:
//! see [`Mode`]). Only errors whose
//! primary span is in one of the checked files count. The build folder is
//! kept between runs under the system's temporary folder, one per crate, so
//! dependencies are checked once, not on every run.

use super::{tail, Session, Tool, TypeError};
use anyhow::Context;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

struct CrateCopy {
    /// The crate (or workspace) folder, canonical.
    root: PathBuf,
    /// Its copy, canonical.
    copy: PathBuf,
    target: PathBuf,
    /// How the crate builds, found by its first check (`None` until then).
    mode: Option<Mode>,
}

/// How a crate's copy is checked: with every target if it can, else the
/// library and binaries, else those with the copy's dev-dependencies and
/// `Cargo.lock` removed (cargo resolves dev-dependencies for any build, and
/// offline it can neither resolve crates never downloaded nor fetch the
/// versions a lock file pins; without them it picks downloaded versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    AllTargets,
    Default,
    NoDevDependencies,
}

/// `manifest` without its dev-dependency tables (`[dev-dependencies]`,
/// `[dev-dependencies.x]`, `[target.'…'.dev-dependencies]`).
fn without_dev_dependencies(manifest: &str) -> String {
    let mut out = String::with_capacity(manifest.len());
    let mut skipping = false;
    for line in manifest.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_start_matches('[').split(']').next().unwrap_or("");
            skipping = name.contains("dev-dependencies") || name.contains("dev_dependencies");
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

pub struct CargoSession {
    tool: Tool,
    crates: Vec<CrateCopy>,
    /// Per file: its crate and its path inside it (`None`: not checked).
    at: Vec<Option<(usize, PathBuf)>>,
    _tmp: tempfile::TempDir,
}

/// The folder whose `Cargo.toml` `cargo check` runs on for `file`.
fn crate_root(file: &Path) -> Option<PathBuf> {
    let mut nearest = None;
    for dir in file.ancestors().skip(1) {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        if nearest.is_none() {
            nearest = Some(dir.to_path_buf());
        }
        if text.lines().any(|l| l.trim() == "[workspace]") {
            return Some(dir.to_path_buf());
        }
    }
    nearest
}

/// Copies `from` into `to`, without `target/` at the top and `.git` anywhere.
fn copy_crate(from: &Path, to: &Path) -> anyhow::Result<()> {
    let walk = walkdir::WalkDir::new(from).into_iter().filter_entry(|e| {
        let name = e.file_name();
        !(name == ".git" || (e.depth() == 1 && name == "target" && e.file_type().is_dir()))
    });
    for e in walk {
        let e = e?;
        let rel = e.path().strip_prefix(from)?;
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest)?;
        } else if e.file_type().is_file() {
            std::fs::copy(e.path(), &dest)
                .with_context(|| format!("cannot copy {}", e.path().display()))?;
        }
    }
    Ok(())
}

impl CargoSession {
    /// The session, and the files it cannot check (index, why).
    pub fn new(
        tool: &Tool,
        paths: &[PathBuf],
    ) -> anyhow::Result<(CargoSession, Vec<(usize, String)>)> {
        let tmp = tempfile::Builder::new()
            .prefix("refactor-verify-cargo-")
            .tempdir()
            .context("cannot create a temporary folder for cargo")?;
        let mut crates: Vec<CrateCopy> = Vec::new();
        let mut at = Vec::new();
        let mut unchecked = Vec::new();
        for (k, p) in paths.iter().enumerate() {
            let file = super::canonical(p);
            let Some(root) = crate_root(&file) else {
                unchecked.push((k, "no Cargo.toml above it".to_string()));
                at.push(None);
                continue;
            };
            let ci = match crates.iter().position(|c| c.root == root) {
                Some(ci) => ci,
                None => {
                    let copy = tmp.path().join(format!("crate{}", crates.len()));
                    std::fs::create_dir_all(&copy)?;
                    copy_crate(&root, &copy)?;
                    let copy = std::fs::canonicalize(&copy)?;
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    root.hash(&mut h);
                    let target = std::env::temp_dir()
                        .join("refactor-verify-cargo")
                        .join(format!("{:016x}", h.finish()));
                    crates.push(CrateCopy {
                        root: root.clone(),
                        copy,
                        target,
                        mode: None,
                    });
                    crates.len() - 1
                }
            };
            let rel = file.strip_prefix(&root).unwrap_or(&file).to_path_buf();
            at.push(Some((ci, rel)));
        }
        let session = CargoSession {
            tool: tool.clone(),
            crates,
            at,
            _tmp: tmp,
        };
        Ok((session, unchecked))
    }

    /// One `cargo check` of crate `ci`: the errors by their primary span's
    /// path (relative to the copy), or `None` when cargo failed without a
    /// compiler error (it could not build at all).
    fn cargo_check(
        &self,
        ci: usize,
        mode: Mode,
    ) -> anyhow::Result<Result<Vec<(PathBuf, TypeError)>, String>> {
        let c = &self.crates[ci];
        if mode == Mode::NoDevDependencies {
            let manifest = c.copy.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)?;
            std::fs::write(&manifest, without_dev_dependencies(&text))?;
            // Resolved again, offline, against the crates already downloaded.
            let _ = std::fs::remove_file(c.copy.join("Cargo.lock"));
        }
        let mut cmd = self.tool.command();
        cmd.args(["check", "--message-format=json", "--offline", "--quiet"]);
        if mode == Mode::AllTargets {
            cmd.arg("--all-targets");
        }
        cmd.arg("--manifest-path")
            .arg(c.copy.join("Cargo.toml"))
            .current_dir(&c.copy)
            .env("CARGO_TARGET_DIR", &c.target)
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .stdin(std::process::Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("cannot run `{}`", self.tool.shown()))?;
        let mut errors = Vec::new();
        let mut any_error = false;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["reason"] != "compiler-message" || v["message"]["level"] != "error" {
                continue;
            }
            any_error = true;
            let msg = &v["message"];
            let Some(span) = msg["spans"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["is_primary"] == true))
            else {
                continue;
            };
            let file = Path::new(span["file_name"].as_str().unwrap_or_default());
            let abs = if file.is_absolute() {
                file.to_path_buf()
            } else {
                c.copy.join(file)
            };
            let Ok(rel) = abs.strip_prefix(&c.copy) else {
                continue;
            };
            errors.push((
                rel.to_path_buf(),
                TypeError {
                    line: span["line_start"].as_u64().unwrap_or(0) as usize,
                    column: span["column_start"].as_u64().unwrap_or(0) as usize,
                    message: msg["message"].as_str().unwrap_or_default().to_string(),
                    code: msg["code"]["code"].as_str().unwrap_or_default().to_string(),
                },
            ));
        }
        if !out.status.success() && !any_error {
            return Ok(Err(format!("{}{}", tail(&out.stdout), tail(&out.stderr))));
        }
        Ok(Ok(errors))
    }
}

impl Session for CargoSession {
    fn check(&mut self, texts: &[&str]) -> anyhow::Result<Vec<Vec<TypeError>>> {
        for (k, text) in texts.iter().enumerate() {
            if let Some((ci, rel)) = &self.at[k] {
                let dest = self.crates[*ci].copy.join(rel);
                std::fs::write(&dest, text)
                    .with_context(|| format!("cannot write {}", dest.display()))?;
            }
        }
        let mut out = vec![Vec::new(); texts.len()];
        for ci in 0..self.crates.len() {
            let modes = match self.crates[ci].mode {
                Some(m) => vec![m],
                None => vec![Mode::AllTargets, Mode::Default, Mode::NoDevDependencies],
            };
            let mut found = None;
            let mut why = String::new();
            for mode in modes {
                match self.cargo_check(ci, mode)? {
                    Ok(errors) => {
                        self.crates[ci].mode = Some(mode);
                        found = Some(errors);
                        break;
                    }
                    Err(w) => why = w,
                }
            }
            let Some(found) = found else {
                anyhow::bail!(
                    "--verify cargo: `cargo check` cannot build the crate at {} (checked in a \
                     temporary copy, offline); nothing was written:\n{why}",
                    self.crates[ci].root.display()
                )
            };
            for (path, e) in found {
                for (k, a) in self.at.iter().enumerate() {
                    if matches!(a, Some((c, rel)) if *c == ci && *rel == path) {
                        out[k].push(e.clone());
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_dependency_tables_are_removed_and_the_rest_kept() {
        let m = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n\n[dev-dependencies]\nindoc = \"2\"\n\n[dev-dependencies.trybuild]\nversion = \"1\"\n\n[target.'cfg(unix)'.dev-dependencies]\nlibc = \"0.2\"\n\n[features]\nstd = []\n";
        assert_eq!(
            without_dev_dependencies(m),
            "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n\n[features]\nstd = []\n"
        );
    }
}
