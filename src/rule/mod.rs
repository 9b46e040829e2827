//! Rules: ast-grep YAML loaded and compiled once per run.
//!
//! `load` finds rule files (a file, or a folder walked recursively; several
//! rules per file separated by `---`), `config` is the YAML shape, `compile`
//! turns it into matchers, `fix` renders fix templates, `transform` computes
//! derived metavariables. Every error is reported as `path:line: message`.

pub mod compile;
pub mod config;
pub mod fix;
pub mod load;
pub mod transform;
pub mod yaml_depth;

use crate::lang::Lang;
use crate::matcher::{self, Ctx, Env, FileCtx, Match, Matcher, Utils};
use fix::{Rendered, Template};
use globset::GlobSet;
use std::collections::BTreeMap;
use std::path::Path;
use transform::Transform;

pub use config::HoleDecl;
pub use load::{load_rules, RuleError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Off,
    Hint,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "off" => Severity::Off,
            "hint" => Severity::Hint,
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Severity::Off => "off",
            Severity::Hint => "hint",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A hole declaration with its regex compiled.
#[derive(Debug, Clone)]
pub struct Hole {
    pub decl: HoleDecl,
    pub regex: Option<regex::Regex>,
    pub kind_id: Option<u16>,
    pub tie: Option<Template>,
}

#[derive(Debug)]
pub struct Fix {
    pub template: Template,
    pub expand_start: Option<Matcher>,
    pub expand_end: Option<Matcher>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub lang: Lang,
    pub message: Option<String>,
    pub note: Option<String>,
    pub url: Option<String>,
    /// `None` when the rule file gives none.
    pub severity: Option<Severity>,
    pub matcher: Matcher,
    /// Node kinds that can match, indexed by kind id (`None`: any kind).
    /// Lets one traversal of a file serve every rule cheaply.
    pub kinds: Option<Vec<bool>>,
    pub utils: Utils,
    pub constraints: Vec<(String, Matcher)>,
    pub transforms: Vec<(String, Transform)>,
    pub fix: Option<Fix>,
    pub holes: BTreeMap<String, Hole>,
    pub files: Option<GlobSet>,
    pub ignores: Option<GlobSet>,
}

/// A match of a rule with everything the planner needs.
pub struct RuleMatch<'t> {
    pub node: tree_sitter::Node<'t>,
    pub env: Env<'t>,
    /// Byte range to replace (the node, widened by expandStart/expandEnd).
    pub range: std::ops::Range<usize>,
    pub replacement: Option<Rendered>,
    /// Rendered `tie:` text per hole name.
    pub ties: BTreeMap<String, String>,
    /// Comments inside `range` that the replacement does not carry: the fix
    /// deletes them (ast-grep does the same; we say so in the report).
    pub dropped_comments: Vec<std::ops::Range<usize>>,
}

impl Rule {
    /// Whether the rule applies to a file at this (repository-relative) path.
    pub fn applies_to(&self, rel_path: &Path) -> bool {
        if let Some(files) = &self.files {
            if !files.is_match(rel_path) {
                return false;
            }
        }
        if let Some(ignores) = &self.ignores {
            if ignores.is_match(rel_path) {
                return false;
            }
        }
        true
    }

    /// All matches in a parsed file, in pre-order.
    pub fn find<'t>(&self, root: tree_sitter::Node<'t>, src: &str) -> Vec<RuleMatch<'t>> {
        let mut out = Vec::new();
        let file = FileCtx::new(root);
        matcher::preorder(root, |node| out.extend(self.match_at(node, src, &file)));
        out
    }

    /// Whether `node`'s kind can match at all (cheap pre-filter).
    pub fn may_match_kind(&self, node: tree_sitter::Node) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|k| k.get(node.kind_id() as usize).copied().unwrap_or(false))
    }

    /// Matches one node (constraints included) and renders its fix.
    /// `file` is the state of the tree `node` belongs to (one per parsed file).
    pub fn match_at<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        src: &str,
        file: &FileCtx<'t>,
    ) -> Option<RuleMatch<'t>> {
        if !self.may_match_kind(node) {
            return None;
        }
        let ctx = Ctx {
            src,
            utils: &self.utils,
            file,
        };
        let mut env = Env::new();
        if !self.matcher.matches(node, ctx, &mut env) {
            return None;
        }
        let m = Match { node, env };
        if !self.constraints_ok(&m, ctx) {
            return None;
        }
        Some(self.finish(m, src, ctx))
    }

    fn constraints_ok<'t>(&self, m: &Match<'t>, ctx: Ctx<'_, 't>) -> bool {
        self.constraints
            .iter()
            .all(|(var, rule)| match m.env.get(var) {
                Some(matcher::Binding::Single(n)) => {
                    let mut env = m.env.clone();
                    rule.matches(*n, ctx, &mut env)
                }
                // ast-grep applies constraints to single metavariables only.
                Some(matcher::Binding::Multi(_)) => true,
                None => true,
            })
    }

    fn finish<'t>(&self, m: Match<'t>, src: &str, ctx: Ctx<'_, 't>) -> RuleMatch<'t> {
        let mut range = m.node.byte_range();
        let mut replacement = None;
        let mut ties = BTreeMap::new();
        if let Some(fix) = &self.fix {
            if let Some(es) = &fix.expand_start {
                let mut cur = m.node;
                while let Some(p) = cur.prev_sibling() {
                    let mut env = m.env.clone();
                    if !es.matches(p, ctx, &mut env) {
                        break;
                    }
                    cur = p;
                }
                range.start = cur.start_byte();
            }
            if let Some(ee) = &fix.expand_end {
                let mut cur = m.node;
                while let Some(n) = cur.next_sibling() {
                    let mut env = m.env.clone();
                    if !ee.matches(n, ctx, &mut env) {
                        break;
                    }
                    cur = n;
                }
                range.end = cur.end_byte();
            }
            let transformed = transform::run(&self.transforms, &m.env, src);
            replacement = Some(
                fix.template
                    .render(&m.env, &transformed, src, m.node.start_byte()),
            );
            for (name, hole) in &self.holes {
                if let Some(tie) = &hole.tie {
                    let r = tie.render(&m.env, &transformed, src, m.node.start_byte());
                    ties.insert(name.clone(), r.text);
                }
            }
        }
        let dropped_comments = match &replacement {
            Some(r) => dropped_comments(m.node, range.clone(), src, &r.text),
            None => Vec::new(),
        };
        RuleMatch {
            node: m.node,
            env: m.env,
            range,
            replacement,
            ties,
            dropped_comments,
        }
    }
}

/// Comments within `range` whose text does not appear in `replacement`.
/// Comments are extras, so smart matching looks through them; a fix built
/// from metavariables that do not span a comment loses it.
fn dropped_comments(
    node: tree_sitter::Node,
    range: std::ops::Range<usize>,
    src: &str,
    replacement: &str,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    // Widened ranges (expandStart/End) can reach past the node: look from
    // the nearest ancestor that covers the whole range.
    let mut top = node;
    while top.start_byte() > range.start || top.end_byte() < range.end {
        match top.parent() {
            Some(p) => top = p,
            None => break,
        }
    }
    if top.child_count() == 0 {
        return out;
    }
    matcher::preorder(top, |n| {
        let r = n.byte_range();
        if n.is_extra()
            && n.is_named()
            && n.kind().contains("comment")
            && r.start >= range.start
            && r.end <= range.end
            && !replacement.contains(src[r.clone()].trim_end())
        {
            out.push(r);
        }
    });
    out
}
