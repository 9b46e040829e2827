//! Symbol index for the cross-file context section of canvas rows (docs/canvas.md,
//! "Context"): for each identifier, the header of its first definition in path order.
//! Entry points: [`ContextIndex::build`], [`ContextIndex::snippet`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

/// A definition header: from the line holding `def NAME` (etc., at the start of the
/// line after modifiers such as `pub`, `export`, `async`) to the line that ends the
/// header, at most 4 lines, joined with `\n` (as the trainer's `header_at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct ContextIndex {
    /// Per identifier, its definitions in path order (first one per file).
    defs: HashMap<String, Vec<Snippet>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Rust,
    Js,
    Other,
}

fn lang_of(path: &Path) -> Lang {
    match path.extension().and_then(|e| e.to_str()) {
        Some("py" | "pyi") => Lang::Python,
        Some("rs") => Lang::Rust,
        Some("js" | "jsx" | "mjs" | "cjs" | "ts" | "tsx" | "mts" | "cts") => Lang::Js,
        _ => Lang::Other,
    }
}

/// Definition patterns per language, the same as the trainer's `DEF_RE` (model/data.py);
/// other languages get the generic keyword list of docs/canvas.md.
fn def_regex(lang: Lang) -> &'static Regex {
    static RES: OnceLock<[Regex; 4]> = OnceLock::new();
    let res = RES.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("valid regex");
        [
            r(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_][A-Za-z0-9_]*)"),
            r(concat!(
                r"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?(?:(?:async|const|unsafe|extern ",
                "\"C\"",
                r")[ \t]+)*(?:fn|struct|enum|trait|type)[ \t]+([A-Za-z_][A-Za-z0-9_]*)"
            )),
            r(concat!(
                r"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:declare[ \t]+)?(?:abstract[ \t]+)?",
                r"(?:async[ \t]+)?(?:function\*?|class|interface|type|enum)[ \t]+([A-Za-z_$][A-Za-z0-9_$]*)"
            )),
            r(concat!(
                r"^[ \t]*(?:(?:pub(?:\([^)]*\))?|export|default|declare|abstract|async|const|unsafe|public|",
                r"private|protected|static|final)[ \t]+)*",
                r"(?:def|class|fn|function\*?|struct|enum|trait|interface|type)[ \t]+([A-Za-z_$][A-Za-z0-9_$]*)"
            )),
        ]
    });
    &res[lang as usize]
}

pub(crate) fn ident_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("valid regex"))
}

/// Headers defined in one file, in text order: (name, header text).
pub fn headers(path: &Path, text: &str) -> Vec<(String, String)> {
    let lang = lang_of(path);
    let python = lang == Lang::Python;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        for cap in def_regex(lang).captures_iter(line) {
            let name = cap[1].to_string();
            let mut end = i;
            for (j, l) in lines.iter().enumerate().skip(i).take(4) {
                end = j;
                let t = l.trim_end();
                let done = if python {
                    t.ends_with(':')
                } else {
                    t.contains('{') || t.ends_with(';')
                };
                if done {
                    break;
                }
            }
            out.push((name, lines[i..=end].join("\n")));
        }
    }
    out
}

impl ContextIndex {
    /// Indexes definition headers of `files` (repository-relative path, text).
    pub fn build(files: impl IntoIterator<Item = (PathBuf, String)>) -> Self {
        let mut files: Vec<(PathBuf, String)> = files.into_iter().collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut defs: HashMap<String, Vec<Snippet>> = HashMap::new();
        for (path, text) in &files {
            for (name, snippet) in headers(path, text) {
                let v = defs.entry(name).or_default();
                if v.last().is_none_or(|s| &s.path != path) {
                    v.push(Snippet {
                        path: path.clone(),
                        text: snippet,
                    });
                }
            }
        }
        ContextIndex { defs }
    }

    /// The first definition header of `name` in path order outside `exclude` (the
    /// row's own file).
    pub fn snippet(&self, name: &str, exclude: &Path) -> Option<&Snippet> {
        self.defs.get(name)?.iter().find(|s| s.path != exclude)
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}
