//! The mypy checker. Each check writes the texts to a temporary folder and
//! runs mypy once over all the files (once per group when two files would
//! have the same module name) with `--shadow-file SOURCE SHADOW`, so
//! mypy reads the new text in place of the file (imports, the package and
//! the user's mypy configuration stay those of the real file) and nothing
//! is written beside the user's files. The cache goes to the temporary
//! folder too, shared by the runs of one gate (the second run reuses what
//! the first learned of the imports).

use super::{canonical, tail, Session, Tool, TypeError};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Whether mypy checks this file (by its extension).
pub fn checks(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("py" | "pyi")
    )
}

/// The flags every run gets: errors only, one per line, with columns and
/// codes; imports are followed for their types but not reported on; the
/// bodies of unannotated functions are checked on both sides, so a fill
/// that makes a function annotated is not blamed for what mypy then starts
/// checking.
const FLAGS: &[&str] = &[
    "--no-error-summary",
    "--show-column-numbers",
    "--show-error-codes",
    "--no-color-output",
    "--no-pretty",
    "--hide-error-context",
    "--follow-imports=silent",
    "--check-untyped-defs",
];

pub struct MypySession {
    tool: Tool,
    /// The files, canonical (how mypy's output is matched back).
    files: Vec<PathBuf>,
    tmp: tempfile::TempDir,
    runs: usize,
}

impl MypySession {
    pub fn new(tool: &Tool, paths: &[PathBuf]) -> anyhow::Result<MypySession> {
        let tmp = tempfile::Builder::new()
            .prefix("refactor-verify-mypy-")
            .tempdir()
            .context("cannot create a temporary folder for mypy")?;
        Ok(MypySession {
            tool: tool.clone(),
            files: paths.iter().map(|p| canonical(p)).collect(),
            tmp,
            runs: 0,
        })
    }
}

/// The name mypy may give the module of `file`: its stem, or its folder's
/// name for `__init__.py`. Two files with the same name in one run are
/// "Duplicate module named …" to mypy (a blocking error), so the files are
/// split into groups without a repeated name, one mypy run each.
fn module_key(file: &Path) -> String {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem == "__init__" {
        let dir = file.parent().and_then(|d| d.file_name());
        return dir.and_then(|d| d.to_str()).unwrap_or("").to_string();
    }
    stem.to_string()
}

/// Groups of file indices in which no module name repeats (usually one).
fn groups(files: &[PathBuf]) -> Vec<Vec<usize>> {
    let mut out: Vec<(std::collections::HashSet<String>, Vec<usize>)> = Vec::new();
    for (k, f) in files.iter().enumerate() {
        let key = module_key(f);
        match out.iter_mut().find(|(keys, _)| !keys.contains(&key)) {
            Some((keys, members)) => {
                keys.insert(key);
                members.push(k);
            }
            None => out.push(([key].into_iter().collect(), vec![k])),
        }
    }
    out.into_iter().map(|(_, m)| m).collect()
}

impl Session for MypySession {
    fn check(&mut self, texts: &[&str]) -> anyhow::Result<Vec<Vec<TypeError>>> {
        let mut errors = vec![Vec::new(); self.files.len()];
        for group in groups(&self.files) {
            self.check_group(&group, texts, &mut errors)?;
        }
        Ok(errors)
    }
}

impl MypySession {
    /// One mypy run over the files of `group`, each read from its text.
    fn check_group(
        &mut self,
        group: &[usize],
        texts: &[&str],
        errors: &mut [Vec<TypeError>],
    ) -> anyhow::Result<()> {
        self.runs += 1;
        let run = self.tmp.path().join(format!("run{}", self.runs));
        let mut cmd = self.tool.command();
        cmd.args(FLAGS)
            .arg("--cache-dir")
            .arg(self.tmp.path().join("cache"));
        for &k in group {
            let file = &self.files[k];
            let dir = run.join(k.to_string());
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let shadow = dir.join(file.file_name().unwrap_or_default());
            std::fs::write(&shadow, texts[k])
                .with_context(|| format!("cannot write {}", shadow.display()))?;
            cmd.arg("--shadow-file").arg(file).arg(&shadow);
        }
        cmd.args(group.iter().map(|&k| &self.files[k]));
        cmd.stdin(std::process::Stdio::null());
        let out = cmd
            .output()
            .with_context(|| format!("cannot run `{}`", self.tool.shown()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut parsed = 0;
        for line in stdout.lines() {
            let Some((path, e)) = parse_line(line) else {
                continue;
            };
            parsed += 1;
            let path = canonical(Path::new(path));
            if let Some(&k) = group.iter().find(|&&k| self.files[k] == path) {
                errors[k].push(e);
            }
        }
        // 0: clean, 1: errors; anything else (or 1 with nothing we can read)
        // means mypy did not check the files.
        let code = out.status.code();
        if !(code == Some(0) || (matches!(code, Some(1 | 2)) && parsed > 0)) {
            anyhow::bail!(
                "--verify mypy: `{}` failed ({}); nothing was written:\n{}{}",
                self.tool.shown(),
                out.status,
                tail(&out.stdout),
                tail(&out.stderr)
            );
        }
        Ok(())
    }
}

/// `path:line:col: error: message  [code]` (notes and other lines: `None`).
fn parse_line(line: &str) -> Option<(&str, TypeError)> {
    let (head, rest) = line.split_once(": error: ")?;
    let mut parts = head.rsplitn(3, ':');
    let column: usize = parts.next()?.trim().parse().ok()?;
    let line_no: usize = parts.next()?.trim().parse().ok()?;
    let path = parts.next()?;
    let rest = rest.trim_end();
    let (message, code) = match rest.strip_suffix(']').and_then(|r| r.rsplit_once("  [")) {
        Some((m, c)) => (m.trim_end(), c),
        None => (rest, ""),
    };
    Some((
        path,
        TypeError {
            line: line_no,
            column,
            message: message.to_string(),
            code: code.to_string(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_with_the_same_module_name_go_to_different_runs() {
        let files: Vec<PathBuf> = ["a/util.py", "b/util.py", "a/main.py", "util/__init__.py"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(groups(&files), vec![vec![0, 2], vec![1], vec![3]]);
        assert_eq!(groups(&files[2..3]), vec![vec![0]]);
    }

    #[test]
    fn error_lines_are_parsed_and_notes_are_not() {
        let (p, e) = parse_line(
            "app/shapes.py:11:12: error: Incompatible return value type (got \"int\", expected \"AB\")  [return-value]",
        )
        .expect("an error line");
        assert_eq!(p, "app/shapes.py");
        assert_eq!((e.line, e.column), (11, 12));
        assert_eq!(
            e.message,
            "Incompatible return value type (got \"int\", expected \"AB\")"
        );
        assert_eq!(e.code, "return-value");
        let (_, e) = parse_line("a.py:1:1: error: Name \"x\" is not defined").expect("no code");
        assert_eq!(e.code, "");
        assert!(parse_line("a.py:3:5: note: Revealed type").is_none());
        assert!(parse_line("Success: no issues found").is_none());
    }
}
