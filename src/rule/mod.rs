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
pub mod rewrite;
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

/// Whether a label marks the main location of a finding or a related one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelStyle {
    Primary,
    Secondary,
}

impl LabelStyle {
    pub fn name(self) -> &'static str {
        match self {
            LabelStyle::Primary => "primary",
            LabelStyle::Secondary => "secondary",
        }
    }
}

/// A `labels:` entry: the metavariable it points at, its style and message.
#[derive(Debug, Clone)]
pub struct Label {
    pub var: String,
    pub style: LabelStyle,
    pub message: Option<String>,
}

/// A label placed on one match: which `labels:` entry, and the code it
/// covers (the whole match, primary, when the rule declares no labels).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSpan {
    pub style: LabelStyle,
    pub message: Option<String>,
    pub range: std::ops::Range<usize>,
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
    /// `labels:` in declaration order.
    pub labels: Vec<Label>,
    /// `rewriters:`, referenced by index from `rewrite` transforms.
    pub rewriters: Vec<rewrite::Rewriter>,
    /// Text a file must contain for the rule to match in it.
    pub literals: matcher::prefilter::Literals,
    /// `literals`, compiled for searching.
    pub needles: matcher::prefilter::Needles,
    /// What the unit of a partial parse that holds a match must contain
    /// (`prefilter::required_in_unit`: less than `literals` when the rule
    /// looks at an ancestor that may be a block around the unit).
    pub unit_literals: matcher::prefilter::Literals,
    /// `unit_literals`, compiled for searching.
    pub unit_needles: matcher::prefilter::Needles,
    /// Every node a match looks at lies in the matched node's top-level
    /// item (`matcher::locality`), so a parse of only the items that hold
    /// the rule's literals finds all its matches.
    pub item_local: bool,
    /// Item-local, and also local to the statement of a function body that
    /// holds the match (the function around it is only a container), so
    /// function bodies may be cut into statements too.
    pub body_local: bool,
    /// `path:line: message` of patterns that parse only with error
    /// recovery; printed as warnings by the commands that run rules.
    pub warnings: Vec<String>,
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
    /// Where the report points (see [`LabelSpan`]).
    pub labels: Vec<LabelSpan>,
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
        self.may_match_kind_id(node.kind_id())
    }

    /// [`Rule::may_match_kind`] for a node kind id.
    pub fn may_match_kind_id(&self, kind: u16) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|k| k.get(kind as usize).copied().unwrap_or(false))
    }

    /// Matches one node (constraints included) and renders its fix.
    /// `file` is the state of the tree `node` belongs to (one per parsed file).
    pub fn match_at<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        src: &str,
        file: &FileCtx<'t>,
    ) -> Option<RuleMatch<'t>> {
        let (m, ctx) = self.matched(node, src, file)?;
        Some(self.finish(m, src, ctx))
    }

    /// Whether `node` matches (constraints included), without rendering.
    pub fn matches_at<'t>(
        &self,
        node: tree_sitter::Node<'t>,
        src: &str,
        file: &FileCtx<'t>,
    ) -> bool {
        self.matched(node, src, file).is_some()
    }

    /// The match at `node`, constraints checked, with the context it was
    /// found in.
    fn matched<'a, 't>(
        &'a self,
        node: tree_sitter::Node<'t>,
        src: &'a str,
        file: &'a FileCtx<'t>,
    ) -> Option<(Match<'t>, Ctx<'a, 't>)> {
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
        let mut m = Match { node, env };
        self.constraints_ok(&mut m, ctx).then_some((m, ctx))
    }

    /// Checks `constraints:` on the single metavariables the rule bound, as
    /// ast-grep does: on the match's environment, so what a constraint binds
    /// (and the labels it finds) stays with the match and a fix can use it.
    fn constraints_ok<'t>(&self, m: &mut Match<'t>, ctx: Ctx<'_, 't>) -> bool {
        // ast-grep applies constraints to single metavariables only, and
        // only to those the rule itself bound.
        let targets: Vec<(&Matcher, tree_sitter::Node<'t>)> = self
            .constraints
            .iter()
            .filter_map(|(var, rule)| match m.env.get(var) {
                Some(matcher::Binding::Single(n)) => Some((rule, *n)),
                _ => None,
            })
            .collect();
        targets
            .into_iter()
            .all(|(rule, n)| rule.matches(n, ctx, &mut m.env))
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
            let transformed =
                transform::run(&self.transforms, &m.env, &m.env, ctx, &self.rewriters);
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
            Some(r) => dropped_comments(ctx.file, range.clone(), src, &r.text),
            None => Vec::new(),
        };
        let labels = self.label_spans(&m);
        RuleMatch {
            node: m.node,
            env: m.env,
            range,
            replacement,
            ties,
            dropped_comments,
            labels,
        }
    }

    /// The match's labels, as ast-grep gives them: one per declared label
    /// whose metavariable is bound; without `labels:`, the whole match
    /// (primary) and the nodes its relational rules found (secondary).
    fn label_spans(&self, m: &Match) -> Vec<LabelSpan> {
        if self.labels.is_empty() {
            // The whole match, then every node a relational rule found.
            let primary = LabelSpan {
                style: LabelStyle::Primary,
                message: None,
                range: m.node.byte_range(),
            };
            let secondary = m.env.labels().iter().map(|n| LabelSpan {
                style: LabelStyle::Secondary,
                message: None,
                range: n.byte_range(),
            });
            return std::iter::once(primary).chain(secondary).collect();
        }
        self.labels
            .iter()
            .filter_map(|l| {
                let range = match m.env.get(&l.var)? {
                    matcher::Binding::Single(n) => n.byte_range(),
                    matcher::Binding::Multi(ns) => ns.first()?.start_byte()..ns.last()?.end_byte(),
                };
                Some(LabelSpan {
                    style: l.style,
                    message: l.message.clone(),
                    range,
                })
            })
            .collect()
    }
}

/// Comments within `range` whose text does not appear in `replacement`.
/// Comments are extras, so smart matching looks through them; a fix built
/// from metavariables that do not span a comment loses it.
fn dropped_comments(
    file: &FileCtx,
    range: std::ops::Range<usize>,
    src: &str,
    replacement: &str,
) -> Vec<std::ops::Range<usize>> {
    file.comments_in(range)
        .iter()
        .filter(|c| !replacement.contains(src[(*c).clone()].trim_end()))
        .cloned()
        .collect()
}
