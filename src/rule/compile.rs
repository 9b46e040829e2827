//! Compiles the YAML shape ([`super::config`]) into matchers, once per run.
//! Every error names the offending value so the loader can point at its line.

use super::config::{NthPos, SerFix, SerNthChild, SerPattern, SerRule, SerStopBy, SerTransform};
use super::fix::Template;
use super::transform::{Case, Separator, Transform};
use crate::lang::Lang;
use crate::matcher::{pattern::Strictness, Matcher, NthChild, Pattern, Relation, StopBy, Utils};
use regex::Regex;
use std::collections::BTreeMap;

/// A compile error; `needle` is text to search for in the rule file to find
/// the line to report.
#[derive(Debug)]
pub struct CompileError {
    pub message: String,
    pub needle: Option<String>,
    /// The needle is a mapping key (`name:` at the start of a line), not
    /// text to find anywhere.
    pub key: bool,
}

impl CompileError {
    pub fn new(message: impl Into<String>, needle: Option<&str>) -> Self {
        CompileError {
            message: message.into(),
            needle: needle.map(str::to_string),
            key: false,
        }
    }

    /// An error reported at the line that defines the key `key`.
    pub fn at_key(message: impl Into<String>, key: &str) -> Self {
        CompileError {
            message: message.into(),
            needle: Some(key.to_string()),
            key: true,
        }
    }
}

/// How deeply rule objects may nest (`all`/`any`/`not`/`inside`/`has`/...
/// inside one another). Compiling and matching recurse along the nesting;
/// real rules stay far below this.
pub const MAX_RULE_DEPTH: usize = 64;

/// A value shortened for an error message.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    let s = s.trim();
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

type Result<T> = std::result::Result<T, CompileError>;

pub struct Compiler<'a> {
    pub lang: Lang,
    pub util_ids: &'a BTreeMap<String, usize>,
    /// Metavariables defined anywhere in the rule (for checking `fix`).
    pub defined: Vec<String>,
    /// Current nesting of rule objects (see [`MAX_RULE_DEPTH`]).
    pub depth: usize,
    /// Ids of the rule's `rewriters:`, for `rewrite` transforms.
    pub rewriter_ids: BTreeMap<String, usize>,
    /// Patterns that parsed only with error recovery: (message, needle to
    /// locate the line).
    pub warnings: Vec<(String, String)>,
}

impl<'a> Compiler<'a> {
    pub fn new(lang: Lang, util_ids: &'a BTreeMap<String, usize>) -> Self {
        Compiler {
            lang,
            util_ids,
            defined: Vec::new(),
            depth: 0,
            rewriter_ids: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    pub fn rule(&mut self, r: &SerRule, relational: bool) -> Result<Matcher> {
        if self.depth >= MAX_RULE_DEPTH {
            // Point at the first line using a key of the rule that is too deep.
            let keys = [
                (r.all.is_some(), "all:"),
                (r.any.is_some(), "any:"),
                (r.not.is_some(), "not:"),
                (r.inside.is_some(), "inside:"),
                (r.has.is_some(), "has:"),
                (r.precedes.is_some(), "precedes:"),
                (r.follows.is_some(), "follows:"),
                (r.matches.is_some(), "matches:"),
                (r.nth_child.is_some(), "nthChild:"),
                (r.pattern.is_some(), "pattern:"),
                (r.kind.is_some(), "kind:"),
            ];
            let needle = keys.iter().find(|(set, _)| *set).map(|(_, key)| *key);
            return Err(CompileError::new(
                format!(
                    "rule objects nest more than {MAX_RULE_DEPTH} levels deep (the limit for rules)"
                ),
                needle,
            ));
        }
        self.depth += 1;
        let out = self.rule_inner(r, relational);
        self.depth -= 1;
        out
    }

    fn rule_inner(&mut self, r: &SerRule, relational: bool) -> Result<Matcher> {
        if !relational && (r.stop_by.is_some() || r.field.is_some()) {
            return Err(CompileError::new(
                "`stopBy` and `field` are only allowed in `inside`, `has`, `precedes`, `follows`",
                Some(if r.stop_by.is_some() {
                    "stopBy"
                } else {
                    "field"
                }),
            ));
        }
        let mut parts = Vec::new();
        if let Some(p) = &r.pattern {
            parts.push(Matcher::Pattern(self.pattern(p)?));
        }
        if let Some(k) = &r.kind {
            parts.push(Matcher::Kind(self.kind(k)?));
        }
        if let Some(re) = &r.regex {
            parts.push(Matcher::Regex(compile_regex(re)?));
        }
        if let Some(n) = &r.nth_child {
            parts.push(Matcher::NthChild(self.nth_child(n)?));
        }
        if let Some(range) = &r.range {
            parts.push(Matcher::Range {
                start: (range.start.line, range.start.column),
                end: (range.end.line, range.end.column),
            });
        }
        if let Some(x) = &r.inside {
            parts.push(Matcher::Inside(Box::new(self.relation(x, true)?)));
        }
        if let Some(x) = &r.has {
            parts.push(Matcher::Has(Box::new(self.relation(x, true)?)));
        }
        if let Some(x) = &r.precedes {
            parts.push(Matcher::Precedes(Box::new(self.relation(x, false)?)));
        }
        if let Some(x) = &r.follows {
            parts.push(Matcher::Follows(Box::new(self.relation(x, false)?)));
        }
        if let Some(all) = &r.all {
            let rules = all
                .iter()
                .map(|x| self.rule(x, false))
                .collect::<Result<Vec<_>>>()?;
            parts.push(Matcher::All(rules));
        }
        if let Some(any) = &r.any {
            let rules = any
                .iter()
                .map(|x| self.rule(x, false))
                .collect::<Result<Vec<_>>>()?;
            parts.push(Matcher::Any(rules));
        }
        if let Some(not) = &r.not {
            parts.push(Matcher::Not(Box::new(self.rule(not, false)?)));
        }
        if let Some(id) = &r.matches {
            let i = self.util_ids.get(id).ok_or_else(|| {
                CompileError::new(
                    format!("`matches` names unknown util rule `{id}`"),
                    Some(id),
                )
            })?;
            parts.push(Matcher::Util(*i));
        }
        if parts.is_empty() {
            return Err(CompileError::at_key(
                "rule is empty: it needs at least one of pattern, kind, regex, nthChild, range, inside, has, precedes, follows, all, any, not, matches",
                "rule",
            ));
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Matcher::All(parts)
        })
    }

    fn relation(&mut self, r: &SerRule, field_ok: bool) -> Result<Relation> {
        let stop_by = match &r.stop_by {
            None => StopBy::Neighbor,
            Some(SerStopBy::Named(s)) if s == "neighbor" => StopBy::Neighbor,
            Some(SerStopBy::Named(s)) if s == "end" => StopBy::End,
            Some(SerStopBy::Named(s)) => {
                return Err(CompileError::new(
                    format!("stopBy must be `neighbor`, `end` or a rule, not `{s}`"),
                    Some(s),
                ))
            }
            Some(SerStopBy::Rule(rule)) => StopBy::Rule(Box::new(self.rule(rule, false)?)),
        };
        let field = match &r.field {
            None => None,
            Some(_) if !field_ok => {
                return Err(CompileError::new(
                    "`field` is only supported in `inside` and `has`",
                    Some("field"),
                ))
            }
            Some(f) => {
                let id = self.lang.field_id(f).ok_or_else(|| {
                    CompileError::new(
                        format!("unknown field `{f}` for language {}", self.lang),
                        Some(f),
                    )
                })?;
                Some(id)
            }
        };
        let inner = SerRule {
            stop_by: None,
            field: None,
            ..r.clone()
        };
        Ok(Relation {
            rule: self.rule(&inner, false)?,
            stop_by,
            field,
        })
    }

    fn pattern(&mut self, p: &SerPattern) -> Result<Pattern> {
        let pat = match p {
            SerPattern::Str(s) => Pattern::new(s, self.lang, Strictness::Smart).map_err(|e| {
                CompileError::new(format!("invalid pattern `{}`: {e}", shorten(s)), Some(s))
            })?,
            SerPattern::Obj(o) => {
                let strictness = match &o.strictness {
                    None => Strictness::Smart,
                    Some(s) => Strictness::parse(s).ok_or_else(|| {
                        CompileError::new(
                            format!(
                                "unknown strictness `{s}` (cst, smart, ast, relaxed, signature)"
                            ),
                            Some(s),
                        )
                    })?,
                };
                match &o.selector {
                    Some(sel) => Pattern::contextual(&o.context, sel, self.lang, strictness),
                    None => Pattern::new(&o.context, self.lang, strictness),
                }
                .map_err(|e| {
                    CompileError::new(
                        format!("invalid pattern `{}`: {e}", shorten(&o.context)),
                        Some(&o.context),
                    )
                })?
            }
        };
        self.defined
            .extend(pat.defined_vars().into_iter().map(str::to_string));
        if let Some(near) = &pat.syntax_error {
            let (text, needle) = match p {
                SerPattern::Str(s) => (s.as_str(), s.as_str()),
                SerPattern::Obj(o) => (o.context.as_str(), o.context.as_str()),
            };
            self.warnings.push((
                format!(
                    "pattern `{}` parses only with a syntax error near `{near}`; it may match \
                     more or less than it says (give it a `context` and `selector`)",
                    shorten(text)
                ),
                needle.to_string(),
            ));
        }
        Ok(pat)
    }

    pub fn kind(&self, k: &str) -> Result<u16> {
        self.lang.kind_id(k).ok_or_else(|| {
            CompileError::new(
                format!("unknown node kind `{k}` for language {}", self.lang),
                Some(k),
            )
        })
    }

    fn nth_child(&mut self, n: &SerNthChild) -> Result<NthChild> {
        let (pos, reverse, of_rule) = match n {
            SerNthChild::Num(i) => (NthPos::Num(*i), false, None),
            SerNthChild::Str(s) => (NthPos::Str(s.clone()), false, None),
            SerNthChild::Obj(o) => {
                let pos = match &o.position {
                    NthPos::Num(i) => NthPos::Num(*i),
                    NthPos::Str(s) => NthPos::Str(s.clone()),
                };
                let of = match &o.of_rule {
                    Some(r) => Some(Box::new(self.rule(r, false)?)),
                    None => None,
                };
                (pos, o.reverse, of)
            }
        };
        let (a, b) = match pos {
            NthPos::Num(i) if i < 0 => {
                let key = if matches!(n, SerNthChild::Obj(_)) {
                    "position"
                } else {
                    "nthChild"
                };
                return Err(CompileError::new(
                    format!("`{key}` must not be negative (got {i}; positions count from 1)"),
                    Some(&format!("{key}:")),
                ));
            }
            NthPos::Num(i) => (0, i),
            NthPos::Str(s) => parse_an_plus_b(&s).ok_or_else(|| {
                CompileError::new(format!("invalid nthChild position `{s}`"), Some(&s))
            })?,
        };
        Ok(NthChild {
            a,
            b,
            reverse,
            of_rule,
        })
    }

    pub fn transforms(&mut self, map: &serde_yaml::Mapping) -> Result<Vec<(String, Transform)>> {
        let mut out = Vec::new();
        for (k, v) in map {
            let name = k
                .as_str()
                .ok_or_else(|| CompileError::new("transform keys must be strings", None))?
                .to_string();
            // ast-grep 0.51 also accepts a string form: `substring($A, startChar=1)`.
            let value = match v.as_str() {
                Some(text) => string_transform(text).map_err(|e| {
                    CompileError::new(format!("invalid transform `{name}`: {e}"), Some(&name))
                })?,
                None => v.clone(),
            };
            let t: SerTransform = serde_yaml::from_value(value).map_err(|e| {
                CompileError::new(format!("invalid transform `{name}`: {e}"), Some(&name))
            })?;
            let count = t.replace.is_some() as u8
                + t.substring.is_some() as u8
                + t.convert.is_some() as u8
                + t.rewrite.is_some() as u8;
            if count != 1 {
                return Err(CompileError::new(
                    format!(
                        "transform `{name}` needs exactly one of replace, substring, convert, rewrite"
                    ),
                    Some(&name),
                ));
            }
            let tr = if let Some(r) = t.rewrite {
                let rewriters = r
                    .rewriters
                    .iter()
                    .map(|id| {
                        self.rewriter_ids.get(id).copied().ok_or_else(|| {
                            CompileError::new(
                                format!("transform `{name}`: no rewriter with id `{id}` in `rewriters:`"),
                                Some(id),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Transform::Rewrite {
                    source: r.source,
                    rewriters,
                    join_by: r.join_by,
                }
            } else if let Some(r) = t.replace {
                Transform::Replace {
                    source: r.source,
                    regex: compile_regex(&r.replace)?,
                    by: r.by,
                }
            } else if let Some(s) = t.substring {
                Transform::Substring {
                    source: s.source,
                    start: s.start_char,
                    end: s.end_char,
                }
            } else {
                let c = t.convert.expect("counted");
                let case = Case::parse(&c.to_case).ok_or_else(|| {
                    CompileError::new(format!("unknown toCase `{}`", c.to_case), Some(&c.to_case))
                })?;
                let separators = match c.separated_by {
                    None => Separator::ALL.to_vec(),
                    Some(list) => list
                        .iter()
                        .map(|s| {
                            Separator::parse(s).ok_or_else(|| {
                                CompileError::new(format!("unknown separator `{s}`"), Some(s))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                };
                Transform::Convert {
                    source: c.source,
                    case,
                    separators,
                }
            };
            if !tr.raw_source().starts_with('$') {
                return Err(CompileError::at_key(
                    format!(
                        "transform `{name}`: source `{}` must be a metavariable such as `${}`",
                        tr.raw_source(),
                        tr.raw_source()
                    ),
                    &name,
                ));
            }
            out.push((name, tr));
        }
        self.check_transforms(&out)?;
        self.defined
            .extend(out.iter().map(|(name, _)| name.clone()));
        Ok(out)
    }

    /// As ast-grep: a transform may not reuse a name the rule binds, its
    /// source must be bound by the rule or be another transform (in any
    /// order), and transforms may not depend on each other in a cycle.
    fn check_transforms(&self, transforms: &[(String, Transform)]) -> Result<()> {
        let index: BTreeMap<&str, usize> = transforms
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        for (name, t) in transforms {
            if self.defined.iter().any(|d| d == name) {
                return Err(CompileError::at_key(
                    format!(
                        "transform `{name}`: the rule already binds `${name}`; give the transform another name"
                    ),
                    name,
                ));
            }
            let source = t.source();
            if !index.contains_key(source) && !self.defined.iter().any(|d| d == source) {
                return Err(CompileError::at_key(
                    format!(
                        "transform `{name}`: source `${source}` is neither bound by the rule nor another transform"
                    ),
                    name,
                ));
            }
        }
        // Each transform has one source, so following sources from any
        // transform either leaves the transforms or runs into a cycle.
        for start in 0..transforms.len() {
            let mut path = vec![start];
            let mut cur = start;
            while let Some(&next) = index.get(transforms[cur].1.source()) {
                if let Some(pos) = path.iter().position(|&p| p == next) {
                    let cycle: Vec<String> = path[pos..]
                        .iter()
                        .chain(std::iter::once(&next))
                        .map(|&i| format!("`{}`", transforms[i].0))
                        .collect();
                    let first = &transforms[path[pos]].0;
                    return Err(CompileError::at_key(
                        format!(
                            "transforms form a cycle ({}): each uses the next as its source",
                            cycle.join(" → ")
                        ),
                        first,
                    ));
                }
                path.push(next);
                cur = next;
            }
        }
        Ok(())
    }

    pub fn fix(&mut self, fix: &SerFix) -> Result<(Template, Option<Matcher>, Option<Matcher>)> {
        Ok(match fix {
            SerFix::Template(t) => (Template::parse(t), None, None),
            SerFix::Obj(o) => {
                let es = match &o.expand_start {
                    Some(r) => Some(self.rule(r, false)?),
                    None => None,
                };
                let ee = match &o.expand_end {
                    Some(r) => Some(self.rule(r, false)?),
                    None => None,
                };
                (Template::parse(&o.template), es, ee)
            }
        })
    }
}

/// Parses ast-grep's string transform form, `func($SRC, key=value, ...)`,
/// into the equivalent object form. Values are quoted strings, numbers,
/// bare words, or `[a, b]` lists.
fn string_transform(text: &str) -> std::result::Result<serde_yaml::Value, String> {
    use serde_yaml::{Mapping, Value};
    let text = text.trim();
    let open = text.find('(').ok_or("expected `function(...)`")?;
    if !text.ends_with(')') {
        return Err("missing `)`".into());
    }
    let func = text[..open].trim();
    let body = &text[open + 1..text.len() - 1];
    // Split on commas outside quotes and brackets.
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for c in body.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '[') => {
                depth += 1;
                cur.push(c);
            }
            (None, ']') => {
                depth -= 1;
                cur.push(c);
            }
            (None, ',') if depth == 0 => parts.push(std::mem::take(&mut cur)),
            (None, c) => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        parts.push(cur);
    }
    let mut parts = parts.into_iter().map(|p| p.trim().to_string());
    let source = parts.next().ok_or("missing source metavariable")?;
    let scalar = |v: &str| -> Value {
        let v = v.trim();
        if let Some(q) = v
            .strip_prefix('\'')
            .and_then(|x| x.strip_suffix('\''))
            .or_else(|| v.strip_prefix('"').and_then(|x| x.strip_suffix('"')))
        {
            return Value::String(q.to_string());
        }
        if let Ok(n) = v.parse::<i64>() {
            return Value::Number(n.into());
        }
        Value::String(v.to_string())
    };
    let mut args = Mapping::new();
    args.insert("source".into(), Value::String(source));
    for p in parts {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got `{p}`"))?;
        let v = v.trim();
        let value = if let Some(list) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
            Value::Sequence(
                list.split(',')
                    .filter(|x| !x.trim().is_empty())
                    .map(scalar)
                    .collect(),
            )
        } else {
            scalar(v)
        };
        args.insert(Value::String(k.trim().to_string()), value);
    }
    let mut top = Mapping::new();
    top.insert(Value::String(func.to_string()), Value::Mapping(args));
    Ok(Value::Mapping(top))
}

pub fn compile_regex(re: &str) -> Result<Regex> {
    Regex::new(re).map_err(|e| {
        let first = e.to_string();
        let short = first.lines().last().unwrap_or(&first).trim().to_string();
        CompileError::new(format!("invalid regex `{re}`: {short}"), Some(re))
    })
}

/// Parses CSS-like `An+B` (`2n+1`, `odd`, `even`, `3`).
fn parse_an_plus_b(s: &str) -> Option<(i64, i64)> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    match s.as_str() {
        "odd" => return Some((2, 1)),
        "even" => return Some((2, 0)),
        _ => {}
    }
    if let Some(i) = s.find('n') {
        let a = match &s[..i] {
            "" | "+" => 1,
            "-" => -1,
            x => x.parse().ok()?,
        };
        let rest = &s[i + 1..];
        let b = if rest.is_empty() {
            0
        } else {
            rest.parse().ok()?
        };
        Some((a, b))
    } else {
        Some((0, s.parse().ok()?))
    }
}

/// Compiles a rule's utils: its own (`utils:`), and the project's global
/// utils of its language (`utilDirs`, ast-grep's scoping). Global utils come
/// first in the table, then each global util's own `utils:`, then the
/// rule's. A global util sees the other global utils and its own `utils:`;
/// the rule's utils and rule see the global utils, and their own `utils:`
/// shadow global utils of the same id. Returns the table and the ids the
/// rule may name in `matches`.
pub fn build_utils(
    lang: Lang,
    utils: &BTreeMap<String, SerRule>,
    globals: &[super::config::GlobalUtilFile],
    defined: &mut Vec<String>,
) -> std::result::Result<(Utils, BTreeMap<String, usize>), CompileError> {
    // Every util to compile, in table order, with the ids it can name.
    let mut todo: Vec<(&SerRule, usize)> = Vec::new();
    let mut scopes: Vec<BTreeMap<String, usize>> = Vec::new();
    let global_ids: BTreeMap<String, usize> = globals
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id.clone(), i))
        .collect();
    let mut next = globals.len();
    let scope_with = |own: &BTreeMap<String, SerRule>, next: &mut usize| {
        let mut scope = global_ids.clone();
        for id in own.keys() {
            scope.insert(id.clone(), *next);
            *next += 1;
        }
        scope
    };
    let global_scopes: Vec<BTreeMap<String, usize>> = globals
        .iter()
        .map(|g| scope_with(&g.utils, &mut next))
        .collect();
    let ids = scope_with(utils, &mut next);
    for (g, scope) in globals.iter().zip(global_scopes) {
        scopes.push(scope);
        todo.push((&g.rule, scopes.len() - 1));
    }
    for (i, g) in globals.iter().enumerate() {
        todo.extend(g.utils.values().map(|r| (r, i)));
    }
    scopes.push(ids.clone());
    todo.extend(utils.values().map(|r| (r, scopes.len() - 1)));
    check_util_cycles(utils)?;
    let mut rules = Vec::new();
    for (r, scope) in todo {
        let mut c = Compiler::new(lang, &scopes[scope]);
        rules.push(c.rule(r, false)?);
        defined.extend(c.defined);
    }
    Ok((Utils { rules }, ids))
}

/// Checks one global util (`g`, among the project's `globals` of its
/// language): it compiles, and neither it nor its own `utils:` take part in
/// a cycle that could come back to the same node. Errors name the util's
/// file. Runs once per util when a project loads, so [`build_utils`] never
/// fails on a global util.
pub fn check_global_util(
    lang: Lang,
    g: &super::config::GlobalUtilFile,
    globals: &[super::config::GlobalUtilFile],
) -> Result<()> {
    let mut rules: BTreeMap<String, SerRule> = globals
        .iter()
        .map(|o| (o.id.clone(), o.rule.clone()))
        .collect();
    rules.extend(g.utils.clone());
    check_util_cycles(&rules)?;
    let ids: BTreeMap<String, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    for r in std::iter::once(&g.rule).chain(g.utils.values()) {
        Compiler::new(lang, &ids).rule(r, false)?;
    }
    Ok(())
}

/// Directions a relational rule moves in, as bits: a path through rules
/// collects the set of directions along it.
const UP: u8 = 1; // inside
const DOWN: u8 = 2; // has
const LEFT: u8 = 4; // follows
const RIGHT: u8 = 8; // precedes

/// Whether a cycle of utils that moves in `dirs` can come back to the node
/// it started from. With no move at all it is the same node (`matches`,
/// `all`, `any`, `not`, `nthChild.ofRule`); moves only up and right (or
/// down and left, up and left, down and right) always go on to a node later
/// (earlier) in one fixed order of the tree, so they end; `inside` with
/// `has`, or `precedes` with `follows`, can return.
fn cycle_can_return(dirs: u8) -> bool {
    dirs == 0 || dirs & (UP | DOWN) == UP | DOWN || dirs & (LEFT | RIGHT) == LEFT | RIGHT
}

/// Every `matches` in `r`, with the directions taken to reach it.
fn util_refs<'r>(r: &'r SerRule, dirs: u8, out: &mut Vec<(&'r str, u8)>) {
    if let Some(id) = &r.matches {
        out.push((id, dirs));
    }
    if let Some(SerNthChild::Obj(o)) = &r.nth_child {
        if let Some(of) = &o.of_rule {
            // Checked on the node itself too.
            util_refs(of, dirs, out);
        }
    }
    // A relational object's `stopBy` is checked on the same nodes as its rule.
    if let Some(SerStopBy::Rule(stop)) = &r.stop_by {
        util_refs(stop, dirs, out);
    }
    for (sub, dir) in [
        (&r.inside, UP),
        (&r.has, DOWN),
        (&r.follows, LEFT),
        (&r.precedes, RIGHT),
    ] {
        if let Some(sub) = sub {
            util_refs(sub, dirs | dir, out);
        }
    }
    for sub in r.all.iter().chain(r.any.iter()).flatten() {
        util_refs(sub, dirs, out);
    }
    if let Some(not) = &r.not {
        util_refs(not, dirs, out);
    }
}

/// Refuses utils that use each other in a cycle along which matching could
/// come back to the same node and so never end (ast-grep refuses the cycles
/// through `matches`/`all`/`any`/`not`, and overflows its stack on the
/// others). Recursion through `inside` alone, `has` alone, and the like is
/// fine: it ends at the root, the leaves, or the last sibling.
fn check_util_cycles(utils: &BTreeMap<String, SerRule>) -> Result<()> {
    let ids: Vec<&str> = utils.keys().map(String::as_str).collect();
    let index: BTreeMap<&str, usize> = ids.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let edges: Vec<Vec<(usize, u8)>> = utils
        .values()
        .map(|r| {
            let mut refs = Vec::new();
            util_refs(r, 0, &mut refs);
            refs.into_iter()
                .filter_map(|(id, dirs)| index.get(id).map(|&j| (j, dirs)))
                .collect()
        })
        .collect();
    // Search states (util, directions so far) from each util; 16 direction
    // sets, so at most 16 states per util.
    for start in 0..ids.len() {
        let mut parent: BTreeMap<(usize, u8), (usize, u8)> = BTreeMap::new();
        let mut stack = vec![(start, 0u8)];
        let mut seen = std::collections::BTreeSet::from([(start, 0u8)]);
        while let Some((u, dirs)) = stack.pop() {
            for &(v, d) in &edges[u] {
                let next = (v, dirs | d);
                if v == start && cycle_can_return(next.1) {
                    let mut names = vec![ids[start]];
                    let mut cur = (u, dirs);
                    while cur != (start, 0) {
                        names.push(ids[cur.0]);
                        cur = parent[&cur];
                    }
                    names.push(ids[start]);
                    names.reverse();
                    let chain = names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(" → ");
                    let why = if next.1 == 0 {
                        "on the same node (through `matches`, `all`, `any`, `not` or \
                         `nthChild.ofRule`)"
                    } else if next.1 & (UP | DOWN) == UP | DOWN {
                        "through both `inside` and `has`, which can lead back to the same node"
                    } else {
                        "through both `precedes` and `follows`, which can lead back to the same node"
                    };
                    return Err(CompileError::at_key(
                        format!("utils form a cycle {why}: {chain}; matching would never end"),
                        ids[start],
                    ));
                }
                if seen.insert(next) {
                    parent.insert(next, (u, dirs));
                    stack.push(next);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::PatternError;

    fn utils(yaml: &str) -> BTreeMap<String, SerRule> {
        serde_yaml::from_str(yaml).expect("utils parse")
    }

    #[test]
    fn cycles_that_can_return_to_the_node() {
        assert!(cycle_can_return(0));
        assert!(cycle_can_return(UP | DOWN));
        assert!(cycle_can_return(LEFT | RIGHT | UP));
        for ok in [
            UP,
            DOWN,
            LEFT,
            RIGHT,
            UP | RIGHT,
            UP | LEFT,
            DOWN | LEFT,
            DOWN | RIGHT,
        ] {
            assert!(!cycle_can_return(ok), "{ok:b}");
        }
    }

    #[test]
    fn util_cycles_are_found_and_named() {
        let err = check_util_cycles(&utils("a: {matches: b}\nb: {not: {matches: a}}"))
            .expect_err("cycle");
        assert!(err.message.contains("`a` → `b` → `a`"), "{}", err.message);
        assert_eq!(err.needle.as_deref(), Some("a"));
        assert!(err.key);
        // Up then down again, through two utils.
        let err = check_util_cycles(&utils(
            "a: {kind: x, inside: {matches: b}}\nb: {any: [{kind: y}, {has: {matches: a}}]}",
        ))
        .expect_err("cycle");
        assert!(
            err.message.contains("`inside` and `has`"),
            "{}",
            err.message
        );
        // Two moving cycles through one util: up, then down.
        assert!(check_util_cycles(&utils(
            "a: {any: [{inside: {matches: a}}, {has: {matches: a}}]}"
        ))
        .is_err());
    }

    #[test]
    fn util_dags_and_one_way_recursion_are_fine() {
        for ok in [
            "a: {matches: b}\nb: {kind: x}\nc: {all: [{matches: a}, {matches: b}]}",
            "a: {any: [{kind: x}, {inside: {matches: a}}]}",
            "a: {any: [{kind: x}, {has: {stopBy: end, matches: a}}]}",
            "a: {any: [{kind: x}, {inside: {precedes: {matches: a}}}]}",
            "a: {matches: missing}",
        ] {
            assert!(check_util_cycles(&utils(ok)).is_ok(), "{ok}");
        }
    }

    #[test]
    fn standalone_ellipsis_and_deep_patterns_are_refused() {
        for p in ["$$$", "$$$ARGS", "$$$_"] {
            assert!(matches!(
                Pattern::new(p, Lang::Python, Strictness::Smart),
                Err(PatternError::StandaloneMulti(_))
            ));
        }
        assert!(Pattern::new("f($$$ARGS)", Lang::Python, Strictness::Smart).is_ok());
        assert!(Pattern::new("$A", Lang::Python, Strictness::Smart).is_ok());
        let deep = vec!["a"; 20_000].join(" + ");
        assert_eq!(
            Pattern::new(&deep, Lang::Python, Strictness::Smart).err(),
            Some(PatternError::TooDeep)
        );
        let deep_context = format!("x = {deep}");
        assert_eq!(
            Pattern::contextual(&deep_context, "identifier", Lang::Python, Strictness::Smart).err(),
            Some(PatternError::TooDeep)
        );
    }

    #[test]
    fn transforms_must_have_bound_acyclic_sources() {
        let ids = BTreeMap::new();
        let run = |yaml: &str| {
            let mut c = Compiler::new(Lang::Python, &ids);
            c.defined = vec!["X".into()];
            let map: serde_yaml::Mapping = serde_yaml::from_str(yaml).expect("yaml");
            c.transforms(&map).map(|t| t.len()).map_err(|e| e.message)
        };
        assert_eq!(
            run("A: {substring: {source: $B}}\nB: {substring: {source: $X}}"),
            Ok(2)
        );
        assert!(run("A: {substring: {source: $NOPE}}")
            .unwrap_err()
            .contains("neither bound"));
        assert!(
            run("A: {substring: {source: $B}}\nB: {substring: {source: $A}}")
                .unwrap_err()
                .contains("`A` → `B` → `A`")
        );
        assert!(run("X: {substring: {source: $X}}")
            .unwrap_err()
            .contains("already binds"));
        assert!(run("A: {substring: {source: X}}")
            .unwrap_err()
            .contains("must be a metavariable"));
    }

    #[test]
    fn rule_nesting_is_bounded() {
        let ids = BTreeMap::new();
        let nested = |n: usize| -> SerRule {
            let yaml = format!(
                "{}{{kind: identifier}}{}",
                "{not: ".repeat(n),
                "}".repeat(n)
            );
            serde_yaml::from_str(&yaml).expect("yaml")
        };
        let mut c = Compiler::new(Lang::Python, &ids);
        assert!(c.rule(&nested(MAX_RULE_DEPTH - 1), false).is_ok());
        assert_eq!(c.depth, 0);
        let err = c
            .rule(&nested(MAX_RULE_DEPTH), false)
            .expect_err("too deep");
        assert!(err.message.contains("nest more than"), "{}", err.message);
        assert_eq!(c.depth, 0);
    }
}
