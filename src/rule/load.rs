//! Finding, splitting and compiling rule files, with `path:line` errors.

use super::compile::{build_utils, check_global_util, compile_regex, CompileError, Compiler};
use super::config::{GlobalUtilFile, LabelDecl, RuleFile};
use super::fix::Template;
use super::rewrite::Rewriter;
use super::yaml_depth::{self, MAX_YAML_DEPTH};
use super::{Fix, Hole, Label, LabelStyle, Rule, Severity};
use crate::lang::Lang;
use crate::matcher::Matcher;
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A rule that could not be loaded: where, and why.
#[derive(Debug, Clone)]
pub struct RuleError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

impl std::error::Error for RuleError {}

/// Is this a rule-test file rather than a rule? (`foo.test.yml`, `foo-test.yml`)
pub fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name);
    stem.ends_with(".test") || stem.ends_with("-test")
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml") | Some("yaml")
    )
}

/// Rule files named by `--rule` arguments: files as given, folders walked
/// recursively in path order (test files skipped).
pub fn rule_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, RuleError> {
    let mut out = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(arg)
                .sort_by_file_name()
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| is_yaml(p) && !is_test_file(p))
                .collect();
            found.sort();
            out.extend(found);
        } else if arg.is_file() {
            out.push(arg.clone());
        } else {
            return Err(RuleError {
                path: arg.clone(),
                line: 1,
                message: "no such rule file or folder".into(),
            });
        }
    }
    Ok(out)
}

/// Splits a YAML stream at `---` lines, keeping each document's first line
/// number (1-based).
pub fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 1;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            docs.push((start, std::mem::take(&mut cur)));
            start = i + 2;
            continue;
        }
        cur.push_str(line);
    }
    docs.push((start, cur));
    docs.into_iter()
        .filter(|(_, d)| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

/// Line (1-based) of byte `index` in `doc`, counting `\n` only, as every
/// other message does. libyaml's own line numbers also count a lone `\r`
/// (and U+0085, U+2028, U+2029) as a line break, so they can point past the
/// end of the file. An index at the very end points at the last line.
pub(crate) fn line_at(doc: &str, index: usize) -> usize {
    let before = &doc.as_bytes()[..index.min(doc.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    line.min(doc.split_inclusive('\n').count().max(1))
}

/// Line (1-based, within `doc`) of the first line mentioning `needle`,
/// comment lines aside.
fn locate(doc: &str, needle: &str) -> Option<usize> {
    let first_line = needle.lines().next().unwrap_or(needle).trim();
    if first_line.is_empty() {
        return None;
    }
    doc.lines()
        .position(|l| !l.trim_start().starts_with('#') && l.contains(first_line))
        .map(|i| i + 1)
}

/// Line (1-based, within `doc`) of the first `candidates:` at or after line
/// `from` (a hole's declaration), for errors about its value.
fn candidates_line(doc: &str, from: usize) -> Option<usize> {
    doc.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| !l.trim_start().starts_with('#') && l.contains("candidates:"))
        .map(|(i, _)| i + 1)
}

/// Line (1-based, within `doc`) of the first line that defines the mapping
/// key `key` (`key:` after indentation or `- `), quoted or not.
fn locate_key(doc: &str, key: &str) -> Option<usize> {
    let forms = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    doc.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ").trim_start();
            let l = l.trim_start_matches('{').trim_start();
            forms.iter().any(|f| l.starts_with(f.as_str()))
        })
        .map(|i| i + 1)
}

/// Rule files larger than this are refused before they are read: real rule
/// files are a few kilobytes, and parsing and compiling a huge one (a
/// 50 MB pattern, millions of rules) takes gigabytes of memory.
pub const MAX_RULE_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Loads and compiles every rule named by `args`.
pub fn load_rules(args: &[PathBuf]) -> Result<Vec<Rule>, RuleError> {
    load_rules_with(args, &GlobalUtils::default())
}

/// [`load_rules`], with a project's global utils usable from `matches`.
pub fn load_rules_with(args: &[PathBuf], globals: &GlobalUtils) -> Result<Vec<Rule>, RuleError> {
    let rules = load_rule_files(&rule_files(args)?, globals)?;
    if rules.is_empty() {
        return Err(RuleError {
            path: args.first().cloned().unwrap_or_default(),
            line: 1,
            message: "no rules found".into(),
        });
    }
    Ok(rules)
}

/// Reads a rule file (or a global util file), refusing one over the size limit.
fn read_rule_text(path: &Path) -> Result<String, RuleError> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if size > MAX_RULE_FILE_BYTES {
        return Err(RuleError {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "rule file is {size} bytes, more than the limit of {} MiB for rule files",
                MAX_RULE_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    std::fs::read_to_string(path).map_err(|e| RuleError {
        path: path.to_path_buf(),
        line: 1,
        message: format!("cannot read rule file: {e}"),
    })
}

/// Loads and compiles the rules of these files, in order, with `globals`
/// usable from `matches`. Rule ids must be unique across the files.
pub fn load_rule_files(files: &[PathBuf], globals: &GlobalUtils) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut seen_ids: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
    for path in files {
        let text = read_rule_text(path)?;
        for (start, doc) in split_documents(&text) {
            let rule = load_one_with(path, start, &doc, globals)?;
            if let Some((p, l)) = seen_ids.get(&rule.id) {
                return Err(RuleError {
                    path: path.clone(),
                    line: start,
                    message: format!(
                        "duplicate rule id `{}` (first defined at {}:{})",
                        rule.id,
                        p.display(),
                        l
                    ),
                });
            }
            seen_ids.insert(rule.id.clone(), (path.clone(), start));
            rules.push(rule);
        }
    }
    Ok(rules)
}

/// YAML files under a project folder (`ruleDirs`, `utilDirs`), found as
/// ast-grep finds them: hidden files and git-ignored ones skipped, ignore
/// files above the folder not read; sorted by path.
pub fn yaml_files_in(dir: &Path) -> Result<Vec<PathBuf>, RuleError> {
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(dir).parents(false).build() {
        let entry = entry.map_err(|e| RuleError {
            path: dir.to_path_buf(),
            line: 1,
            message: format!("cannot read folder: {e}"),
        })?;
        if entry.file_type().is_some_and(|t| t.is_file()) && is_yaml(entry.path()) {
            out.push(entry.into_path());
        }
    }
    out.sort();
    Ok(out)
}

/// A project's global util rules (`utilDirs`), by language.
#[derive(Debug, Default)]
pub struct GlobalUtils {
    by_lang: Vec<(Lang, Vec<GlobalUtilFile>)>,
}

impl GlobalUtils {
    /// The global utils of one language.
    pub fn of(&self, lang: Lang) -> &[GlobalUtilFile] {
        self.by_lang
            .iter()
            .find(|(l, _)| *l == lang)
            .map_or(&[], |(_, u)| u.as_slice())
    }

    /// The language of the global util `id`, if there is one.
    fn lang_of(&self, id: &str) -> Option<Lang> {
        self.by_lang
            .iter()
            .find(|(_, us)| us.iter().any(|u| u.id == id))
            .map(|(l, _)| *l)
    }

    pub fn is_empty(&self) -> bool {
        self.by_lang.is_empty()
    }
}

/// Loads global util rules, one per file (as ast-grep): `id`, `language`,
/// `rule` and optional `utils`. Ids are unique across all files; each util
/// is compiled and checked for cycles here, so errors name its file.
pub fn load_global_utils(files: &[PathBuf]) -> Result<GlobalUtils, RuleError> {
    // (file, first line, document, language, util)
    let mut found: Vec<(PathBuf, usize, String, Lang, GlobalUtilFile)> = Vec::new();
    for path in files {
        let text = read_rule_text(path)?;
        let docs = split_documents(&text);
        if let Some((line, _)) = docs.get(1) {
            return Err(RuleError {
                path: path.clone(),
                line: *line,
                message: "a util file holds exactly one global util rule (as in ast-grep); \
                          put this one in a file of its own"
                    .into(),
            });
        }
        let Some((start, doc)) = docs.into_iter().next() else {
            continue;
        };
        let at = Doc {
            path,
            start,
            doc: &doc,
        };
        let util: GlobalUtilFile = at.parse()?;
        let lang = at.lang(&util.language)?;
        if let Some((p, l, ..)) = found.iter().find(|(.., u)| u.id == util.id) {
            return Err(at.err(
                locate(&doc, "id").unwrap_or(1),
                format!(
                    "duplicate global util id `{}` (first defined at {}:{})",
                    util.id,
                    p.display(),
                    l
                ),
            ));
        }
        found.push((path.clone(), start, doc.clone(), lang, util));
    }
    let mut globals = GlobalUtils::default();
    for (.., lang, util) in &found {
        match globals.by_lang.iter_mut().find(|(l, _)| l == lang) {
            Some((_, us)) => us.push(util.clone()),
            None => globals.by_lang.push((*lang, vec![util.clone()])),
        }
    }
    for (path, start, doc, lang, util) in &found {
        let at = Doc {
            path,
            start: *start,
            doc,
        };
        check_global_util(*lang, util, globals.of(*lang)).map_err(|e| at.compile_err(e))?;
    }
    Ok(globals)
}

/// Parses and compiles one YAML document that starts at line `start`.
pub fn load_one(path: &Path, start: usize, doc: &str) -> Result<Rule, RuleError> {
    load_one_with(path, start, doc, &GlobalUtils::default())
}

/// [`load_one`], with a project's global utils usable from `matches`.
pub fn load_one_with(
    path: &Path,
    start: usize,
    doc: &str,
    globals: &GlobalUtils,
) -> Result<Rule, RuleError> {
    let at = Doc { path, start, doc };
    let file: RuleFile = at.parse()?;
    let lang = at.lang(&file.language)?;
    let severity = match &file.severity {
        None => None,
        Some(s) => Some(Severity::parse(s).ok_or_else(|| {
            at.err(
                locate(doc, "severity").unwrap_or(1),
                format!("unknown severity `{s}` (error, warning, info, hint, off)"),
            )
        })?),
    };
    let mut defined = Vec::new();
    let (utils, util_ids) = build_utils(lang, &file.utils, globals.of(lang), &mut defined)
        .map_err(|e| at.compile_err(e))?;
    let mut c = Compiler::new(lang, &util_ids);
    c.defined = defined;
    let matcher = c.rule(&file.rule, false).map_err(|e| {
        // A global util of another language is not visible: say so.
        let other = e
            .needle
            .as_deref()
            .filter(|id| !util_ids.contains_key(*id))
            .and_then(|id| globals.lang_of(id).map(|l| (id.to_string(), l)));
        let mut err = at.compile_err(e);
        if let Some((id, l)) = other {
            err.message = format!(
                "{} (`{id}` is a global util for {l}, and this rule is for {lang})",
                err.message
            );
        }
        err
    })?;
    // Like ast-grep, a rule must fix the node kinds it can match: one made
    // only of `regex`, `not`, `inside`, `all: []`, ... matches every node,
    // the whole file included.
    let kinds = matcher.potential_kinds(&utils).ok_or_else(|| {
        at.err(
            locate_key(doc, "rule").unwrap_or(1),
            "rule can match any kind of node (the whole file included); add a `kind`, or a \
             `pattern` whose root is not a metavariable"
                .into(),
        )
    })?;
    let constraints = at.constraints(&file, &mut c)?;
    c.rewriter_ids = at.rewriter_ids(&file)?;
    let rewriters = at.rewriters(&file, lang, &util_ids, &c.rewriter_ids, &c.defined)?;
    let transforms = match &file.transform {
        Some(map) => c.transforms(map).map_err(|e| at.compile_err(e))?,
        None => Vec::new(),
    };
    // Metavariables of `expandStart`/`expandEnd` are not bound by the rule.
    let bound = c.defined.clone();
    let fix = at.fix(&file, &mut c, &bound)?;
    let holes = at.holes(&file, fix.as_ref(), &mut c, &bound)?;
    let labels = at.labels(&file, &bound)?;
    let literals = crate::matcher::prefilter::required(&matcher, &utils, lang);
    // Whether a parse of only the units that hold the rule's literals
    // finds all its matches, with files cut into items and class members,
    // and with function bodies cut into statements as well.
    let local_at = |depth: crate::items::Depth| {
        let constraint_rules: Vec<&Matcher> = constraints.iter().map(|(_, m)| m).collect();
        let grammar = lang.grammar();
        let containers = container_ids(lang, depth);
        let header_fields: Vec<u16> = crate::items::header_fields(lang)
            .iter()
            .filter_map(|name| grammar.field_id_for_name(name))
            .map(|id| id.get())
            .collect();
        crate::matcher::locality::item_local(
            &matcher,
            &constraint_rules,
            &utils,
            &crate::matcher::locality::Containers {
                kinds: &containers,
                header_fields: &header_fields,
                error_kind: u16::MAX,
            },
        )
    };
    let item_local = local_at(crate::items::Depth::Items);
    let body_local = item_local && local_at(crate::items::Depth::Bodies);
    let warnings = c
        .warnings
        .iter()
        .map(|(message, needle)| {
            at.err(locate(doc, needle).unwrap_or(1), message.clone())
                .to_string()
        })
        .collect();
    let unit_literals = crate::matcher::prefilter::required_in_unit(
        &matcher,
        &utils,
        lang,
        &container_ids(lang, crate::items::Depth::Bodies),
    );
    Ok(Rule {
        needles: literals.compile(),
        unit_needles: unit_literals.compile(),
        unit_literals,
        literals,
        item_local,
        body_local,
        warnings,
        kinds: Some(kind_table(lang, kinds)),
        id: file.id.clone(),
        lang,
        message: file.message.clone(),
        note: file.note.clone(),
        url: file.url.clone(),
        severity,
        matcher,
        utils,
        constraints,
        transforms,
        fix,
        holes,
        files: at.globs(&file.files, "files")?,
        ignores: at.globs(&file.ignores, "ignores")?,
        labels,
        rewriters,
    })
}

/// Node kinds that can match, as a table indexed by kind id.
fn kind_table(lang: Lang, kinds: Vec<u16>) -> Vec<bool> {
    let mut table = vec![false; lang.grammar().node_kind_count() + 1];
    for k in kinds {
        if let Some(slot) = table.get_mut(k as usize) {
            *slot = true;
        }
    }
    table
}

/// One YAML document of a rule file: where it is, for `path:line` errors.
struct Doc<'a> {
    path: &'a Path,
    /// First line of the document in the file (1-based).
    start: usize,
    doc: &'a str,
}

impl Doc<'_> {
    /// An error at `line` of the document.
    fn err(&self, line: usize, message: String) -> RuleError {
        RuleError {
            path: self.path.to_path_buf(),
            line: self.start + line.saturating_sub(1),
            message,
        }
    }

    /// A compile error, placed at the line its needle names.
    fn compile_err(&self, e: CompileError) -> RuleError {
        let line = e
            .needle
            .as_deref()
            .and_then(|n| {
                if e.key {
                    locate_key(self.doc, n)
                } else {
                    locate(self.doc, n)
                }
            })
            .unwrap_or(1);
        self.err(line, e.message)
    }

    /// The language named by `language:`.
    fn lang(&self, name: &str) -> Result<Lang, RuleError> {
        Lang::from_name(name).ok_or_else(|| {
            self.err(
                locate(self.doc, "language").unwrap_or(1),
                format!(
                    "unknown language `{name}` (supported: {})",
                    Lang::ALL.map(|l| l.name()).join(", ")
                ),
            )
        })
    }

    /// The YAML shape, with nesting bounded before `serde_yaml` sees it.
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, RuleError> {
        let too_deep = || {
            format!("YAML nests more than {MAX_YAML_DEPTH} levels deep (the limit for rule files)")
        };
        if let Some(line) = yaml_depth::too_deep(self.doc, MAX_YAML_DEPTH) {
            return Err(self.err(line, too_deep()));
        }
        serde_yaml::from_str(self.doc).map_err(|e| {
            let line = e.location().map_or(1, |l| line_at(self.doc, l.index()));
            let msg = e.to_string();
            // serde_yaml appends " at line X column Y"; we already say where.
            let msg = match msg.find(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            let msg = if msg.ends_with("recursion limit exceeded") {
                too_deep()
            } else {
                msg
            };
            self.err(line, msg)
        })
    }

    /// `constraints:`, each on a metavariable that `rule`, `utils` or the
    /// constraints themselves bind (as ast-grep checks).
    fn constraints(
        &self,
        file: &RuleFile,
        c: &mut Compiler,
    ) -> Result<Vec<(String, Matcher)>, RuleError> {
        let mut constraints = Vec::new();
        for (var, r) in &file.constraints {
            constraints.push((
                var.clone(),
                c.rule(r, false).map_err(|e| self.compile_err(e))?,
            ));
        }
        for var in file.constraints.keys() {
            if !c.defined.iter().any(|d| d == var) {
                return Err(self.err(
                    locate_key(self.doc, var).unwrap_or(1),
                    format!("constraint on `${var}`, which the rule never binds"),
                ));
            }
        }
        Ok(constraints)
    }

    /// `fix:`, using only metavariables the rule binds (as ast-grep checks).
    fn fix(
        &self,
        file: &RuleFile,
        c: &mut Compiler,
        bound: &[String],
    ) -> Result<Option<Fix>, RuleError> {
        let Some(f) = &file.fix else {
            return Ok(None);
        };
        let (template, expand_start, expand_end) = c.fix(f).map_err(|e| self.compile_err(e))?;
        for v in template.vars() {
            if !bound.iter().any(|d| d == v) {
                return Err(self.err(
                    locate(self.doc, &format!("${v}")).unwrap_or(1),
                    format!("undefined metavariable `${v}` used in `fix`"),
                ));
            }
        }
        Ok(Some(Fix {
            template,
            expand_start,
            expand_end,
        }))
    }

    /// `holes:`: every `$?NAME` of the fix declared, every declaration used,
    /// limits checked, `regex`, `kind` and `tie` compiled.
    fn holes(
        &self,
        file: &RuleFile,
        fix: Option<&Fix>,
        c: &mut Compiler,
        bound: &[String],
    ) -> Result<BTreeMap<String, Hole>, RuleError> {
        let used: Vec<&str> = fix
            .map(|f| f.template.holes().collect())
            .unwrap_or_default();
        for name in &used {
            if !file.holes.contains_key(*name) {
                return Err(self.err(
                    locate(self.doc, &format!("$?{name}")).unwrap_or(1),
                    format!("hole `$?{name}` is used in `fix` but not declared under `holes:`"),
                ));
            }
        }
        let mut holes = BTreeMap::new();
        for (name, decl) in &file.holes {
            let line = locate(self.doc, &format!("{name}:")).unwrap_or(1);
            let fail = |msg: String| Err(self.err(line, format!("hole `{name}`: {msg}")));
            if !used.contains(&name.as_str()) {
                return Err(self.err(
                    line,
                    format!(
                        "hole `{name}` is declared under `holes:` but `fix` never uses `$?{name}`"
                    ),
                ));
            }
            if decl.max_tokens == 0 || decl.max_tokens > 32 {
                return fail("max_tokens must be between 1 and 32".into());
            }
            if decl
                .min_confidence
                .is_some_and(|mc| !(0.0..=1.0).contains(&mc))
            {
                return fail("min_confidence must be between 0 and 1".into());
            }
            if let Some(v) = decl.candidates.as_deref() {
                if v != "auto" && v != "off" {
                    let at = candidates_line(self.doc, line).unwrap_or(line);
                    return Err(self.err(
                        at,
                        format!("hole `{name}`: candidates must be `auto` or `off`, got `{v}`"),
                    ));
                }
            }
            let regex = match &decl.regex {
                Some(r) => Some(compile_regex(r).map_err(|e| self.compile_err(e))?),
                None => None,
            };
            let kind_id = match &decl.kind {
                Some(k) => Some(c.kind(k).map_err(|e| self.compile_err(e))?),
                None => None,
            };
            let tie = decl.tie.as_deref().map(Template::parse);
            if let Some(v) = tie
                .iter()
                .flat_map(|t| t.vars())
                .find(|v| !bound.iter().any(|d| d == v))
            {
                return fail(format!("tie uses undefined metavariable `${v}`"));
            }
            holes.insert(
                name.clone(),
                Hole {
                    decl: decl.clone(),
                    regex,
                    kind_id,
                    tie,
                },
            );
        }
        Ok(holes)
    }

    /// `labels:`: each names a metavariable the rule binds, with style
    /// `primary` or `secondary` and an optional message.
    fn labels(&self, file: &RuleFile, bound: &[String]) -> Result<Vec<Label>, RuleError> {
        let Some(map) = &file.labels else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (k, v) in map {
            let var = k.as_str().unwrap_or_default().to_string();
            let line = locate_key(self.doc, &var).unwrap_or(1);
            let decl: LabelDecl = serde_yaml::from_value(v.clone())
                .map_err(|e| self.err(line, format!("label `{var}`: {e}")))?;
            let style = match decl.style.as_str() {
                "primary" => LabelStyle::Primary,
                "secondary" => LabelStyle::Secondary,
                s => {
                    return Err(self.err(
                        line,
                        format!("label `{var}`: unknown style `{s}` (primary or secondary)"),
                    ))
                }
            };
            if !bound.contains(&var) {
                return Err(self.err(
                    line,
                    format!("label on `${var}`, which the rule never binds"),
                ));
            }
            out.push(Label {
                var,
                style,
                message: decl.message,
            });
        }
        Ok(out)
    }

    /// Ids of `rewriters:`, each defined once.
    fn rewriter_ids(&self, file: &RuleFile) -> Result<BTreeMap<String, usize>, RuleError> {
        let mut ids = BTreeMap::new();
        for (i, rw) in file.rewriters.iter().enumerate() {
            if ids.insert(rw.id.clone(), i).is_some() {
                return Err(self.err(
                    locate(self.doc, &rw.id).unwrap_or(1),
                    format!("rewriter id `{}` is defined twice", rw.id),
                ));
            }
        }
        Ok(ids)
    }

    /// `rewriters:`: each a rule (with the enclosing rule's utils and
    /// metavariables in scope), constraints, transforms and a plain fix.
    fn rewriters(
        &self,
        file: &RuleFile,
        lang: Lang,
        util_ids: &BTreeMap<String, usize>,
        rewriter_ids: &BTreeMap<String, usize>,
        bound: &[String],
    ) -> Result<Vec<Rewriter>, RuleError> {
        let mut out = Vec::new();
        for rw in &file.rewriters {
            let line = locate(self.doc, &rw.id).unwrap_or(1);
            let unsupported = |what: &str| {
                Err(self.err(
                    line,
                    format!(
                        "rewriter `{}`: {what} is not supported in a rewriter",
                        rw.id
                    ),
                ))
            };
            if rw.utils.is_some() {
                return unsupported("`utils` (put them in the rule's `utils:`)");
            }
            let mut c = Compiler::new(lang, util_ids);
            c.defined = bound.to_vec();
            c.rewriter_ids = rewriter_ids.clone();
            let matcher = c.rule(&rw.rule, false).map_err(|e| self.compile_err(e))?;
            let mut constraints = Vec::new();
            for (var, r) in &rw.constraints {
                constraints.push((
                    var.clone(),
                    c.rule(r, false).map_err(|e| self.compile_err(e))?,
                ));
            }
            let transforms = match &rw.transform {
                Some(map) => c.transforms(map).map_err(|e| self.compile_err(e))?,
                None => Vec::new(),
            };
            let (fix, expand_start, expand_end) =
                c.fix(&rw.fix).map_err(|e| self.compile_err(e))?;
            if expand_start.is_some() || expand_end.is_some() {
                return unsupported("`expandStart`/`expandEnd` in `fix`");
            }
            if fix.holes().next().is_some() {
                return unsupported("a `$?` hole in `fix`");
            }
            if let Some(v) = fix.vars().find(|v| !c.defined.iter().any(|d| d == v)) {
                return Err(self.err(
                    line,
                    format!(
                        "rewriter `{}`: undefined metavariable `${v}` used in `fix`",
                        rw.id
                    ),
                ));
            }
            out.push(Rewriter {
                id: rw.id.clone(),
                matcher,
                constraints,
                transforms,
                fix,
            });
        }
        Ok(out)
    }

    /// `files:` / `ignores:` globs.
    fn globs(&self, list: &Option<Vec<String>>, key: &str) -> Result<Option<GlobSet>, RuleError> {
        let Some(list) = list else { return Ok(None) };
        let mut b = GlobSetBuilder::new();
        for g in list {
            let glob = Glob::new(g).map_err(|e| {
                self.err(
                    locate(self.doc, g).unwrap_or(1),
                    format!("invalid glob `{g}` in `{key}`: {e}"),
                )
            })?;
            b.add(glob);
        }
        b.build()
            .map(Some)
            .map_err(|e| self.err(1, format!("invalid `{key}` globs: {e}")))
    }
}

/// The node kinds that may enclose a unit of a partial parse cut down to
/// `depth` without lying in it: the root's and `items::containers`'.
fn container_ids(lang: Lang, depth: crate::items::Depth) -> Vec<u16> {
    let grammar = lang.grammar();
    let mut ids = vec![lang.parse("").root_node().kind_id()];
    ids.extend(
        crate::items::containers(lang, depth)
            .iter()
            .map(|name| grammar.id_for_node_kind(name, true))
            .filter(|&id| id != 0),
    );
    ids
}
