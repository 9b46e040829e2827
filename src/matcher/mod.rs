//! Compiled rules and the matching engine.
//!
//! A YAML rule object is compiled once (see `crate::rule::compile`) into a
//! [`Matcher`] tree; matching a node walks that tree, threading one metavariable
//! [`Env`] through it. Invariant: every `matches` call either succeeds and
//! keeps its bindings, or fails and leaves `env` exactly as it found it.

pub mod env;
mod kind_keywords;
pub mod locality;
pub mod pattern;
pub mod prefilter;

pub use env::{Binding, Env};
pub use pattern::{Pattern, PatternError, Strictness};

use regex::Regex;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
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

/// What a match needs besides the node: the source text, the utils and the
/// per-file state.
#[derive(Clone, Copy)]
pub struct Ctx<'a, 't> {
    pub src: &'a str,
    pub utils: &'a Utils,
    pub file: &'a FileCtx<'t>,
}

/// State shared by every match on one parsed file: its root (so ancestors
/// are found with one descent, not one root-to-node walk per `parent()`)
/// and memoised answers of `inside` rules that bind no metavariable.
pub struct FileCtx<'t> {
    root: Node<'t>,
    /// The node a [`preorder_tracked`] traversal is at, after its
    /// ancestors from the root: their parents without the table.
    path: RefCell<Vec<Node<'t>>>,
    /// Node id → parent, built by one traversal the first time a rule looks
    /// upwards (`Node::parent` walks down from the root each time, so
    /// calling it per level is quadratic in depth).
    parents: OnceCell<Vec<(usize, Node<'t>)>>,
    /// Comment ranges in source order, found once per file.
    comments: OnceCell<Vec<std::ops::Range<usize>>>,
    /// `(relation address, node id)` → what the relation finds starting from
    /// this node (the node itself first, then its ancestors), if anything:
    /// an index into `found`.
    inside: RefCell<HashMap<(usize, usize), Option<usize>>>,
    /// Ancestors `inside` relations found, with the labels their match
    /// recorded (so a memoised answer labels the match as a fresh one would).
    found: RefCell<Vec<(Node<'t>, Vec<Node<'t>>)>>,
}

impl<'t> FileCtx<'t> {
    pub fn new(root: Node<'t>) -> Self {
        FileCtx {
            root,
            path: RefCell::new(Vec::new()),
            parents: OnceCell::new(),
            comments: OnceCell::new(),
            inside: RefCell::new(HashMap::new()),
            found: RefCell::new(Vec::new()),
        }
    }

    /// The parent of `node`: from the traversal's path when `node` is on
    /// it (the node being matched or one of its ancestors), else from a
    /// table of every node's parent, in logarithmic time.
    pub fn parent(&self, node: Node<'t>) -> Option<Node<'t>> {
        {
            let path = self.path.borrow();
            if let Some(k) = path.iter().rposition(|n| n.id() == node.id()) {
                return k.checked_sub(1).map(|p| path[p]);
            }
        }
        let parents = self.parents.get_or_init(|| {
            // A sorted vector of exactly the tree's size: a hash map of a
            // million nodes held twice that in buckets (peak RSS 78 MB
            // against 45 MB without an `inside` rule on typescript's
            // `lib.dom.d.ts`).
            let mut table = Vec::with_capacity(self.root.descendant_count());
            let mut stack: Vec<Node<'t>> = Vec::new();
            let mut cursor = self.root.walk();
            loop {
                let n = cursor.node();
                if let Some(&p) = stack.last() {
                    table.push((n.id(), p));
                }
                if cursor.goto_first_child() {
                    stack.push(n);
                    continue;
                }
                loop {
                    if cursor.goto_next_sibling() {
                        break;
                    }
                    if !cursor.goto_parent() {
                        table.sort_unstable_by_key(|e: &(usize, Node<'t>)| e.0);
                        return table;
                    }
                    stack.pop();
                }
            }
        });
        parents
            .binary_search_by_key(&node.id(), |e| e.0)
            .ok()
            .map(|i| parents[i].1)
    }

    /// Ancestors of `node`, nearest first.
    fn ancestors(&self, node: Node<'t>) -> Vec<Node<'t>> {
        let mut out = Vec::new();
        let mut cur = self.parent(node);
        while let Some(p) = cur {
            out.push(p);
            cur = self.parent(p);
        }
        out
    }

    /// Comments (extras whose kind names a comment) inside `range`.
    pub fn comments_in(&self, range: std::ops::Range<usize>) -> &[std::ops::Range<usize>] {
        let all = self.comments.get_or_init(|| {
            let mut out = Vec::new();
            preorder(self.root, |n| {
                if n.is_extra() && n.is_named() && n.kind().contains("comment") {
                    out.push(n.byte_range());
                }
            });
            out
        });
        let from = all.partition_point(|c| c.start < range.start);
        let to = from + all[from..].partition_point(|c| c.end <= range.end);
        &all[from..to]
    }
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

    pub fn matches<'t>(&self, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
        let snap = env.snapshot();
        let ok = self.matches_inner(node, ctx, env);
        if !ok {
            env.rollback(snap);
        }
        ok
    }

    fn matches_inner<'t>(&self, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
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
    fn matches<'t>(&self, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
        let Some(parent) = ctx.file.parent(node) else {
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

/// ast-grep's `StopBy::find`: neighbor checks the first candidate only, end
/// checks all, a stop rule checks candidates up to and including the first
/// that matches it.
fn find_along<'t>(
    rel: &Relation,
    candidates: Vec<Node<'t>>,
    ctx: Ctx<'_, 't>,
    env: &mut Env<'t>,
    mut accept: impl FnMut(usize, Node<'t>) -> bool,
) -> bool {
    for (i, n) in candidates.into_iter().enumerate() {
        if accept(i, n) && found(rel, n, ctx, env) {
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

fn inside<'t>(rel: &Relation, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
    match rel.field {
        None if !matches!(rel.stop_by, StopBy::Neighbor) && binds_nothing(rel, ctx.utils) => {
            inside_memo(rel, node, ctx, env)
        }
        // A neighbor relation looks at the parent only.
        None if matches!(rel.stop_by, StopBy::Neighbor) => find_along(
            rel,
            ctx.file.parent(node).into_iter().collect(),
            ctx,
            env,
            |_, _| true,
        ),
        None => find_along(rel, ctx.file.ancestors(node), ctx, env, |_, _| true),
        Some(field) => {
            // The node one step below each ancestor must be that ancestor's
            // `field` child.
            let ancs = ctx.file.ancestors(node);
            let mut below: Vec<Node<'t>> = vec![node];
            below.extend(ancs.iter().copied());
            find_along(rel, ancs, ctx, env, |i, anc| {
                anc.child_by_field_id(field)
                    .is_some_and(|c| c.id() == below[i].id())
            })
        }
    }
}

/// `inside` with `stopBy: end` or a stop rule, for a relation that binds no
/// metavariable (so its answer for an ancestor does not depend on the
/// environment): `up(a) = a if rule(a), else none if stop(a), else
/// up(parent(a))`, memoised per node with the labels the ancestor's match
/// recorded, and found by walking up only to the nearest known ancestor,
/// so a whole file costs linear time however deep it nests and the match is
/// labelled as on the unmemoised path.
fn inside_memo<'t>(rel: &Relation, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
    let key = rel as *const Relation as usize;
    // Nearest ancestors whose answer is unknown, and the answer above them.
    let mut unknown = Vec::new();
    let mut above = None;
    let mut cur = ctx.file.parent(node);
    while let Some(a) = cur {
        if let Some(&v) = ctx.file.inside.borrow().get(&(key, a.id())) {
            above = v;
            break;
        }
        unknown.push(a);
        cur = ctx.file.parent(a);
    }
    for a in unknown.into_iter().rev() {
        let snap = env.snapshot();
        let here = rel.rule.matches(a, ctx, env);
        let labels = env.labels_since(snap).to_vec();
        env.rollback(snap);
        let holds = if here {
            let mut found = ctx.file.found.borrow_mut();
            found.push((a, labels));
            Some(found.len() - 1)
        } else {
            match &rel.stop_by {
                StopBy::Neighbor | StopBy::End => above,
                StopBy::Rule(stop) if stop_matches(stop, a, ctx, env) => None,
                StopBy::Rule(_) => above,
            }
        };
        ctx.file.inside.borrow_mut().insert((key, a.id()), holds);
        above = holds;
    }
    let Some(i) = above else {
        return false;
    };
    let found = ctx.file.found.borrow();
    let (anc, labels) = &found[i];
    for l in labels {
        env.add_label(*l);
    }
    env.add_label(*anc);
    true
}

/// Whether `rel`'s rule matches `n`; if so, `n` becomes a label of the match
/// (ast-grep labels every node a relational rule finds as "secondary").
fn found<'t>(rel: &Relation, n: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
    if rel.rule.matches(n, ctx, env) {
        env.add_label(n);
        true
    } else {
        false
    }
}

/// Whether a relation can never bind or read a metavariable (so its answer
/// for a node is the same in every environment).
fn binds_nothing(rel: &Relation, utils: &Utils) -> bool {
    let stop_ok = match &rel.stop_by {
        StopBy::Rule(m) => matcher_binds_nothing(m, utils, 0),
        _ => true,
    };
    stop_ok && matcher_binds_nothing(&rel.rule, utils, 0)
}

fn matcher_binds_nothing(m: &Matcher, utils: &Utils, depth: usize) -> bool {
    // Utils may refer to utils; the loader refuses cycles, the bound is a
    // second guard.
    if depth > 64 {
        return false;
    }
    let d = depth + 1;
    match m {
        Matcher::Pattern(p) => p.defined_vars().is_empty(),
        Matcher::Kind(_) | Matcher::Regex(_) | Matcher::Range { .. } => true,
        Matcher::NthChild(n) => n
            .of_rule
            .as_ref()
            .is_none_or(|r| matcher_binds_nothing(r, utils, d)),
        Matcher::Inside(r) | Matcher::Has(r) | Matcher::Precedes(r) | Matcher::Follows(r) => {
            matcher_binds_nothing(&r.rule, utils, d)
                && match &r.stop_by {
                    StopBy::Rule(s) => matcher_binds_nothing(s, utils, d),
                    _ => true,
                }
        }
        Matcher::All(ms) | Matcher::Any(ms) => {
            ms.iter().all(|m| matcher_binds_nothing(m, utils, d))
        }
        Matcher::Not(m) => matcher_binds_nothing(m, utils, d),
        Matcher::Util(i) => utils
            .rules
            .get(*i)
            .is_some_and(|m| matcher_binds_nothing(m, utils, d)),
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

fn stop_matches<'t>(stop: &Matcher, n: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
    let snap = env.snapshot();
    let m = stop.matches(n, ctx, env);
    env.rollback(snap);
    m
}

/// `has` with a stop rule: a descendant matches, looking below a node only
/// while that node does not match the stop rule. Iterative, so deeply
/// nested source cannot exhaust the stack.
fn has_until<'t>(
    rel: &Relation,
    stop: &Matcher,
    node: Node<'t>,
    ctx: Ctx<'_, 't>,
    env: &mut Env<'t>,
) -> bool {
    // One iterator of children per level: depth first, in pre-order, like
    // the recursive definition, so the first match (and its bindings) is
    // the same.
    let mut stack: Vec<std::vec::IntoIter<Node<'t>>> = vec![children(node).into_iter()];
    while let Some(level) = stack.last_mut() {
        let Some(n) = level.next() else {
            stack.pop();
            continue;
        };
        if found(rel, n, ctx, env) {
            return true;
        }
        if !stop_matches(stop, n, ctx, env) {
            stack.push(children(n).into_iter());
        }
    }
    false
}

fn has<'t>(rel: &Relation, node: Node<'t>, ctx: Ctx<'_, 't>, env: &mut Env<'t>) -> bool {
    if let Some(field) = rel.field {
        let Some(nd) = node.child_by_field_id(field) else {
            return false;
        };
        return match &rel.stop_by {
            StopBy::Neighbor => found(rel, nd, ctx, env),
            StopBy::End => dfs(nd).into_iter().any(|n| found(rel, n, ctx, env)),
            StopBy::Rule(stop) => {
                found(rel, nd, ctx, env)
                    || (!stop_matches(stop, nd, ctx, env)
                        && children(nd).into_iter().any(|n| found(rel, n, ctx, env)))
            }
        };
    }
    match &rel.stop_by {
        StopBy::Neighbor => children(node).into_iter().any(|n| found(rel, n, ctx, env)),
        StopBy::End => dfs(node)
            .into_iter()
            .skip(1)
            .any(|n| found(rel, n, ctx, env)),
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
/// [`preorder`] that keeps `file`'s path (the node visited and its
/// ancestors) current, so parents of what a match looks at come from it.
pub fn preorder_tracked<'t>(root: Node<'t>, file: &FileCtx<'t>, mut f: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    file.path.borrow_mut().clear();
    file.path.borrow_mut().push(root);
    loop {
        f(cursor.node());
        if cursor.goto_first_child() {
            file.path.borrow_mut().push(cursor.node());
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                if let Some(last) = file.path.borrow_mut().last_mut() {
                    *last = cursor.node();
                }
                break;
            }
            if !cursor.goto_parent() {
                file.path.borrow_mut().clear();
                return;
            }
            file.path.borrow_mut().pop();
        }
    }
}

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
