//! ast-grep projects: an `sgconfig.yml` (or `sgconfig.yaml`), found from the
//! working folder upwards or named with `--config`, as ast-grep finds it.
//!
//! Keys: `ruleDirs` (rule folders), `utilDirs` (global util rules, one per
//! file, usable by id from any rule of their language), `testConfigs`
//! (`testDir`, optional `snapshotDir`) and `languageGlobs` (extra file-name
//! globs per language). Paths are relative to the file's folder. Every other
//! key — ast-grep's `customLanguages` and `languageInjections`, or anything
//! ast-grep does not know either — is an error at its line: a project is
//! never run with part of its configuration silently left out.

use crate::lang::Lang;
use crate::rule::load::{load_global_utils, load_rule_files, yaml_files_in, GlobalUtils};
use crate::rule::{Rule, RuleError};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The names ast-grep looks for, in its order.
pub const CONFIG_NAMES: [&str; 2] = ["sgconfig.yml", "sgconfig.yaml"];

/// ast-grep's default snapshot folder, inside each test folder.
pub const SNAPSHOT_DIR: &str = "__snapshots__";

/// A folder named in the config, and the line that names it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub line: usize,
}

/// One of `testConfigs`: where test files are, and their snapshots.
#[derive(Debug, Clone)]
pub struct TestDir {
    pub dir: Entry,
    /// `testDir/snapshotDir` (`testDir/__snapshots__` by default).
    pub snapshots: PathBuf,
}

/// A loaded `sgconfig.yml`. Paths are the config's folder joined with the
/// configured path, so they read as the user would type them.
#[derive(Debug)]
pub struct Project {
    /// The config file.
    pub file: PathBuf,
    /// Its folder (possibly empty: the working folder).
    pub dir: PathBuf,
    pub rule_dirs: Vec<Entry>,
    pub util_dirs: Vec<Entry>,
    pub tests: Vec<TestDir>,
    pub lang_globs: Vec<(Lang, GlobSet)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SgConfig {
    #[serde(default)]
    rule_dirs: Vec<String>,
    #[serde(default)]
    util_dirs: Vec<String>,
    #[serde(default)]
    test_configs: Vec<SerTestConfig>,
    #[serde(default)]
    language_globs: serde_yaml::Mapping,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SerTestConfig {
    test_dir: String,
    #[serde(default)]
    snapshot_dir: Option<String>,
}

const KNOWN: [&str; 4] = ["ruleDirs", "utilDirs", "testConfigs", "languageGlobs"];

/// Why a key of an ast-grep config is not supported.
fn unsupported(key: &str) -> String {
    let why = match key {
        "customLanguages" => format!(
            "custom tree-sitter languages cannot be loaded (built in: {})",
            Lang::ALL.map(|l| l.name()).join(", ")
        ),
        "languageInjections" => "languages embedded in other languages are not searched".into(),
        "ignores" | "files" => format!(
            "ast-grep has no project-wide `{key}` either; put `{key}:` in the rules, or \
             use --include / --exclude"
        ),
        _ => format!(
            "not a key of ast-grep's sgconfig.yml (supported: {})",
            KNOWN.join(", ")
        ),
    };
    format!("unsupported key `{key}`: {why}")
}

/// Finds the project: the file `explicit` names, else the first
/// `sgconfig.yml` / `sgconfig.yaml` in the working folder or above it.
/// `None` when there is none.
pub fn find(explicit: Option<&Path>) -> Result<Option<Project>, RuleError> {
    if let Some(path) = explicit {
        return load(path).map(Some);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    // The folder shown in messages: `../..` rather than an absolute path.
    let mut shown = PathBuf::new();
    let mut dir = cwd.as_path();
    loop {
        for name in CONFIG_NAMES {
            if dir.join(name).is_file() {
                return load(&shown.join(name)).map(Some);
            }
        }
        match dir.parent() {
            Some(p) => {
                dir = p;
                shown.push("..");
            }
            None => return Ok(None),
        }
    }
}

/// Line (1-based) of the top-level key `key`, quoted or not.
fn key_line(text: &str, key: &str) -> Option<usize> {
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    text.lines()
        .position(|l| forms.iter().any(|f| l.starts_with(f.as_str())))
        .map(|i| i + 1)
}

/// Line of `value` in the block of `key` (the key's line if not found).
fn value_line(text: &str, key: &str, value: &str) -> usize {
    let start = key_line(text, key).unwrap_or(1);
    text.lines()
        .enumerate()
        .skip(start - 1)
        .find(|(_, l)| l.contains(value))
        .map_or(start, |(i, _)| i + 1)
}

/// Reads and checks a project config.
pub fn load(path: &Path) -> Result<Project, RuleError> {
    let err = |line: usize, message: String| RuleError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(1, format!("cannot read project config: {e}")))?;
    let serde_err = |e: serde_yaml::Error| {
        let line = e
            .location()
            .map_or(1, |l| crate::rule::load::line_at(&text, l.index()));
        let msg = e.to_string();
        let msg = match msg.find(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        };
        err(line, msg)
    };
    let value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(serde_err)?;
    let keys = match &value {
        serde_yaml::Value::Null => Vec::new(),
        serde_yaml::Value::Mapping(m) => m.keys().collect(),
        _ => return Err(err(1, "a project config must be a mapping of keys".into())),
    };
    for key in keys {
        let name = key.as_str().unwrap_or("");
        if !KNOWN.contains(&name) {
            let shown = serde_yaml::to_string(key).unwrap_or_default();
            let shown = shown.trim();
            return Err(err(key_line(&text, shown).unwrap_or(1), unsupported(shown)));
        }
    }
    let config: SgConfig = match value {
        serde_yaml::Value::Null => serde_yaml::from_str("{}").map_err(serde_err)?,
        _ => serde_yaml::from_str(&text).map_err(serde_err)?,
    };
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let entries = |key: &str, list: &[String]| -> Vec<Entry> {
        list.iter()
            .map(|p| Entry {
                path: dir.join(p),
                line: value_line(&text, key, p),
            })
            .collect()
    };
    let rule_dirs = entries("ruleDirs", &config.rule_dirs);
    let util_dirs = entries("utilDirs", &config.util_dirs);
    let tests = config
        .test_configs
        .iter()
        .map(|t| {
            let dir = Entry {
                path: dir.join(&t.test_dir),
                line: value_line(&text, "testConfigs", &t.test_dir),
            };
            let snapshots = dir
                .path
                .join(t.snapshot_dir.as_deref().unwrap_or(SNAPSHOT_DIR));
            TestDir { dir, snapshots }
        })
        .collect();
    let mut lang_globs = Vec::new();
    for (name, globs) in &config.language_globs {
        let name = name.as_str().unwrap_or_default();
        let line = value_line(&text, "languageGlobs", name);
        let lang = Lang::from_name(name).ok_or_else(|| {
            err(
                line,
                format!(
                    "languageGlobs: unknown language `{name}` (supported: {})",
                    Lang::ALL.map(|l| l.name()).join(", ")
                ),
            )
        })?;
        let globs: Vec<String> = serde_yaml::from_value(globs.clone()).map_err(|_| {
            err(
                line,
                format!("languageGlobs: `{name}` needs a list of globs"),
            )
        })?;
        let mut set = GlobSetBuilder::new();
        for g in &globs {
            let glob = GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    err(
                        value_line(&text, "languageGlobs", g),
                        format!("invalid glob `{g}` in languageGlobs: {e}"),
                    )
                })?;
            set.add(glob);
        }
        let set = set
            .build()
            .map_err(|e| err(line, format!("invalid languageGlobs: {e}")))?;
        lang_globs.push((lang, set));
    }
    Ok(Project {
        file: path.to_path_buf(),
        dir,
        rule_dirs,
        util_dirs,
        tests,
        lang_globs,
    })
}

impl Project {
    /// The folder rules' `files` / `ignores` globs are relative to (as in
    /// ast-grep), absolute.
    pub fn root(&self) -> PathBuf {
        let dir = if self.dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            self.dir.as_path()
        };
        std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
    }

    /// An error at a line of the config.
    pub fn error(&self, line: usize, message: String) -> RuleError {
        RuleError {
            path: self.file.clone(),
            line,
            message,
        }
    }

    /// YAML files in configured folders; a folder that is missing is an
    /// error at the line that names it.
    fn files_in(&self, key: &str, dirs: &[Entry]) -> Result<Vec<PathBuf>, RuleError> {
        let mut out = Vec::new();
        for d in dirs {
            if !d.path.is_dir() {
                return Err(self.error(
                    d.line,
                    format!("{key}: no such folder `{}`", d.path.display()),
                ));
            }
            out.extend(yaml_files_in(&d.path)?);
        }
        Ok(out)
    }

    /// The global util rules of `utilDirs`.
    pub fn global_utils(&self) -> Result<GlobalUtils, RuleError> {
        load_global_utils(&self.files_in("utilDirs", &self.util_dirs)?)
    }

    /// Every rule of `ruleDirs`, compiled with the global utils.
    pub fn rules(&self) -> Result<Vec<Rule>, RuleError> {
        let globals = self.global_utils()?;
        let rules = load_rule_files(&self.files_in("ruleDirs", &self.rule_dirs)?, &globals)?;
        if rules.is_empty() {
            return Err(self.error(
                key_line(
                    &std::fs::read_to_string(&self.file).unwrap_or_default(),
                    "ruleDirs",
                )
                .unwrap_or(1),
                "no rules found in ruleDirs".into(),
            ));
        }
        Ok(rules)
    }
}
