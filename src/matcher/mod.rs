//! Compiled rules and the matching engine.
//!
//! A YAML rule object is compiled once (see `crate::rule::compile`) into a
//! [`Matcher`] tree; matching a node walks that tree, threading one metavariable
//! [`Env`] through it. Invariant: every `matches` call either succeeds and
//! keeps its bindings, or fails and leaves `env` exactly as it found it.

pub mod env;
pub mod pattern;

pub use env::{Binding, Env};
pub use pattern::{Pattern, PatternError, Strictness};

use regex::Regex;
use tree_sitter::Node;

/// Where a relational rule stops looking.
#[derive(Debug)]
pub enum StopBy {
    Neighbor,
    End,
    Rule(Box<Matcher>),
}

#[derive(Debug)]
pub struct Relation {
    pub rule: Matcher,
    pub stop_by: StopBy,
    pub field: Option<u16>,
}

/// `nthChild` position: `a*n + b` (1-based), like CSS.
#[derive(Debug)]
pub struct NthChild {
    pub a: i64,
    pub b: i64,
    pub reverse: bool,
    pub of_rule: Option<Box<Matcher>>,
}

#[derive(Debug)]
pub enum Matcher {
    Pattern(Pattern),
    Kind(u16),
    Regex(Regex),
    NthChild(NthChild),
    Range {
        start: (usize, usize),
        end: (usize, usize),
    },
    Inside(Box<Relation>),
    Has(Box<Relation>),
    Precedes(Box<Relation>),
    Follows(Box<Relation>),
    All(Vec<Matcher>),
    Any(Vec<Matcher>),
    Not(Box<Matcher>),
    /// `matches: UTIL_ID`, resolved to an index into [`Utils`].
    Util(usize),
}

/// Utility rules of a rule file (`utils:`), referenced by index.
#[derive(Debug, Default)]
pub struct Utils {
    pub rules: Vec<Matcher>,
}

/// What a match needs besides the node: the source text and the utils.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub src: &'a str,
    pub utils: &'a Utils,
}

impl Matcher {
    /// Kinds a node must have to possibly match, when the rule fixes them
    /// (ast-grep's `potential_kinds`); `None` means "any". A rule must fix
    /// them, or it would match every node. `utils` are the rule's utils,
    /// which must not use each other in a cycle through `matches`, `all`,
    /// `any`, `not` or `nthChild.ofRule` (the loader refuses those).
    pub fn potential_kinds(&self, utils: &Utils) -> Option<Vec<u16>> {
        self.kinds_with(utils, &mut vec![None; utils.rules.len()])
    }

    /// `memo[i]`: util `i`'s kinds once known (`Some(None)`: any kind).
    fn kinds_with(
        &self,
        utils: &Utils,
        memo: &mut Vec<Option<Option<Vec<u16>>>>,
    ) -> Option<Vec<u16>> {
        match self {
            Matcher::Pattern(p) => p.root_kind().map(|k| vec![k]),
            Matcher::Kind(k) => Some(vec![*k]),
            Matcher::All(rules) => rules.iter().find_map(|r| r.kinds_with(utils, memo)),
            Matcher::Any(rules) => {
                let mut out = Vec::new();
                for r in rules {
                    out.extend(r.kinds_with(utils, memo)?);
                }
                Some(out)
            }
            // The node itself must match `ofRule`.
            Matcher::NthChild(n) => n.of_rule.as_ref()?.kinds_with(utils, memo),
            Matcher::Util(i) => {
                if let Some(known) = &memo[*i] {
                    return known.clone();
                }
                // Provisional "any kind" in case of a cycle the loader missed.
                memo[*i] = Some(None);
                let kinds = utils.rules[*i].kinds_with(utils, memo);
                memo[*i] = Some(kinds.clone());
                kinds
            }
            _ => None,
        }
    }

    pub fn matches<'t>(&self, node: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
        let snap = env.snapshot();
        let ok = self.matches_inner(node, ctx, env);
        if !ok {
            env.rollback(snap);
        }
        ok
    }

    fn matches_inner<'t>(&self, node: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
        match self {
            Matcher::Pattern(p) => p.matches(node, ctx.src, env),
            Matcher::Kind(k) => node.kind_id() == *k,
            Matcher::Regex(re) => re.is_match(&ctx.src[node.byte_range()]),
            Matcher::NthChild(nth) => nth.matches(node, ctx, env),
            Matcher::Range { start, end } => {
                let s = node.start_position();
                let e = node.end_position();
                (s.row, s.column) == *start && (e.row, e.column) == *end
            }
            Matcher::Inside(rel) => inside(rel, node, ctx, env),
            Matcher::Has(rel) => has(rel, node, ctx, env),
            Matcher::Precedes(rel) => {
                let sibs = siblings_after(node);
                find_along(rel, sibs, ctx, env, |_, _| true)
            }
            Matcher::Follows(rel) => {
                let sibs = siblings_before(node);
                find_along(rel, sibs, ctx, env, |_, _| true)
            }
            Matcher::All(rules) => rules.iter().all(|r| r.matches(node, ctx, env)),
            Matcher::Any(rules) => rules.iter().any(|r| r.matches(node, ctx, env)),
            Matcher::Not(rule) => {
                let snap = env.snapshot();
                let m = rule.matches(node, ctx, env);
                env.rollback(snap);
                !m
            }
            Matcher::Util(i) => ctx.utils.rules[*i].matches(node, ctx, env),
        }
    }
}

impl NthChild {
    fn matches<'t>(&self, node: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
        let Some(parent) = node.parent() else {
            return false;
        };
        let mut cursor = parent.walk();
        let mut siblings: Vec<Node<'t>> = parent
            .children(&mut cursor)
            .filter(|n| n.is_named())
            .collect();
        if let Some(of) = &self.of_rule {
            siblings.retain(|n| {
                if n.id() == node.id() {
                    return true;
                }
                let snap = env.snapshot();
                let m = of.matches(*n, ctx, env);
                env.rollback(snap);
                m
            });
            let snap = env.snapshot();
            let self_ok = of.matches(node, ctx, env);
            env.rollback(snap);
            if !self_ok {
                return false;
            }
        }
        if self.reverse {
            siblings.reverse();
        }
        let Some(idx) = siblings.iter().position(|n| n.id() == node.id()) else {
            return false;
        };
        let pos = idx as i64 + 1;
        if self.a == 0 {
            return pos == self.b;
        }
        let diff = pos - self.b;
        diff % self.a == 0 && diff / self.a >= 0
    }
}

fn siblings_after(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = node.next_sibling();
    while let Some(n) = cur {
        out.push(n);
        cur = n.next_sibling();
    }
    out
}

fn siblings_before(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = node.prev_sibling();
    while let Some(n) = cur {
        out.push(n);
        cur = n.prev_sibling();
    }
    out
}

fn ancestors(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = node.parent();
    while let Some(n) = cur {
        out.push(n);
        cur = n.parent();
    }
    out
}

/// ast-grep's `StopBy::find`: neighbor checks the first candidate only, end
/// checks all, a stop rule checks candidates up to and including the first
/// that matches it.
fn find_along<'t>(
    rel: &Relation,
    candidates: Vec<Node<'t>>,
    ctx: Ctx,
    env: &mut Env<'t>,
    mut accept: impl FnMut(usize, Node<'t>) -> bool,
) -> bool {
    for (i, n) in candidates.into_iter().enumerate() {
        if accept(i, n) && rel.rule.matches(n, ctx, env) {
            return true;
        }
        match &rel.stop_by {
            StopBy::Neighbor => return false,
            StopBy::End => {}
            StopBy::Rule(stop) => {
                let snap = env.snapshot();
                let m = stop.matches(n, ctx, env);
                env.rollback(snap);
                if m {
                    return false;
                }
            }
        }
    }
    false
}

fn inside<'t>(rel: &Relation, node: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
    let ancs = ancestors(node);
    match rel.field {
        None => find_along(rel, ancs, ctx, env, |_, _| true),
        Some(field) => {
            // The node one step below each ancestor must be that ancestor's
            // `field` child.
            let mut below: Vec<Node<'t>> = vec![node];
            below.extend(ancs.iter().copied());
            find_along(rel, ancs, ctx, env, |i, anc| {
                anc.child_by_field_id(field)
                    .is_some_and(|c| c.id() == below[i].id())
            })
        }
    }
}

fn dfs(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    loop {
        out.push(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node().id() == node.id() {
                return out;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

fn children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

fn stop_matches<'t>(stop: &Matcher, n: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
    let snap = env.snapshot();
    let m = stop.matches(n, ctx, env);
    env.rollback(snap);
    m
}

fn has_until<'t>(
    rel: &Relation,
    stop: &Matcher,
    node: Node<'t>,
    ctx: Ctx,
    env: &mut Env<'t>,
) -> bool {
    children(node).into_iter().any(|n| {
        rel.rule.matches(n, ctx, env)
            || (!stop_matches(stop, n, ctx, env) && has_until(rel, stop, n, ctx, env))
    })
}

fn has<'t>(rel: &Relation, node: Node<'t>, ctx: Ctx, env: &mut Env<'t>) -> bool {
    if let Some(field) = rel.field {
        let Some(nd) = node.child_by_field_id(field) else {
            return false;
        };
        return match &rel.stop_by {
            StopBy::Neighbor => rel.rule.matches(nd, ctx, env),
            StopBy::End => dfs(nd).into_iter().any(|n| rel.rule.matches(n, ctx, env)),
            StopBy::Rule(stop) => {
                rel.rule.matches(nd, ctx, env)
                    || (!stop_matches(stop, nd, ctx, env)
                        && children(nd)
                            .into_iter()
                            .any(|n| rel.rule.matches(n, ctx, env)))
            }
        };
    }
    match &rel.stop_by {
        StopBy::Neighbor => children(node)
            .into_iter()
            .any(|n| rel.rule.matches(n, ctx, env)),
        StopBy::End => dfs(node)
            .into_iter()
            .skip(1)
            .any(|n| rel.rule.matches(n, ctx, env)),
        StopBy::Rule(stop) => has_until(rel, stop, node, ctx, env),
    }
}

/// One match of a rule: the node and its bindings.
pub struct Match<'t> {
    pub node: Node<'t>,
    pub env: Env<'t>,
}

/// Calls `f` on every node of `root` in pre-order, named and anonymous, as
/// ast-grep visits them.
pub fn preorder<'t>(root: Node<'t>, mut f: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        f(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}
