//! Code patterns with metavariables, matched structurally against syntax
//! trees with ast-grep's semantics (its "smart" strictness by default):
//!
//! * the pattern is parsed as code of the rule's language, after `$` sigils
//!   are swapped for the language's expando character;
//! * the pattern's root is its single node, unwrapped while a node has one
//!   child (so `foo` is an identifier pattern, not a program);
//! * `$A` matches one named node, `$$A` any node, `$_`/`$_A` match without
//!   capturing, `$$$A` zero or more siblings, lazily and without
//!   backtracking: it stops at the first candidate that matches the pattern
//!   node after it, exactly like ast-grep, so rules behave the same here;
//! * a metavariable used twice must bind equal code.

use super::env::{Binding, Env};
use crate::lang::Lang;
use tree_sitter::Node;

/// How strictly trivia must agree. ast-grep's `strictness` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Cst,
    Smart,
    Ast,
    Relaxed,
    Signature,
}

impl Strictness {
    pub fn parse(s: &str) -> Option<Strictness> {
        Some(match s {
            "cst" => Strictness::Cst,
            "smart" => Strictness::Smart,
            "ast" => Strictness::Ast,
            "relaxed" => Strictness::Relaxed,
            "signature" => Strictness::Signature,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaVar {
    /// `$A` (named only) or `$$A` (any node).
    Capture(String, bool),
    /// `$_` / `$_A` (named only) or `$$_`.
    Dropped(bool),
    /// `$$$`
    Multiple,
    /// `$$$A`
    MultiCapture(String),
}

impl MetaVar {
    /// Recognises a metavariable in `text`, written with `sigil`.
    pub fn parse(text: &str, sigil: char) -> Option<MetaVar> {
        let ellipsis: String = std::iter::repeat_n(sigil, 3).collect();
        if text == ellipsis {
            return Some(MetaVar::Multiple);
        }
        if let Some(name) = text.strip_prefix(ellipsis.as_str()) {
            if !name.chars().all(is_var_char) {
                return None;
            }
            return Some(if name.starts_with('_') {
                MetaVar::Multiple
            } else {
                MetaVar::MultiCapture(name.to_string())
            });
        }
        let rest = text.strip_prefix(sigil)?;
        let (name, named) = match rest.strip_prefix(sigil) {
            Some(r) => (r, false),
            None => (rest, true),
        };
        let first = name.chars().next()?;
        if !(first == '_' || first.is_ascii_uppercase()) || !name.chars().all(is_var_char) {
            return None;
        }
        Some(if name.starts_with('_') {
            MetaVar::Dropped(named)
        } else {
            MetaVar::Capture(name.to_string(), named)
        })
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            MetaVar::Capture(n, _) | MetaVar::MultiCapture(n) => Some(n),
            _ => None,
        }
    }

    fn is_ellipsis(&self) -> bool {
        matches!(self, MetaVar::Multiple | MetaVar::MultiCapture(_))
    }
}

pub fn is_var_char(c: char) -> bool {
    c == '_' || c.is_ascii_uppercase() || c.is_ascii_digit()
}

#[derive(Debug, Clone)]
pub enum PNode {
    MetaVar(MetaVar),
    /// A node without children.
    Terminal {
        kind: u16,
        text: String,
        named: bool,
    },
    Internal {
        kind: u16,
        children: Vec<PNode>,
    },
}

impl PNode {
    fn is_trivial(&self) -> bool {
        matches!(self, PNode::Terminal { named: false, .. })
    }

    fn collect_vars<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            PNode::MetaVar(mv) => out.extend(mv.name()),
            PNode::Terminal { .. } => {}
            PNode::Internal { children, .. } => children.iter().for_each(|c| c.collect_vars(out)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub root: PNode,
    /// For contextual patterns (`selector`), the required kind of the root.
    pub root_kind: Option<u16>,
    pub strictness: Strictness,
    /// Text near the first syntax error inside the pattern's node, when the
    /// grammar could only parse it with error recovery. Such a pattern may
    /// match more or less than it says (an ERROR node can stand for any
    /// text), so loading it warns, as ast-grep does.
    pub syntax_error: Option<String>,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    MultipleNodes,
    Syntax(String),
    NoSelector(String),
    /// The pattern is only `$$$` or `$$$NAME`, which would match any node.
    StandaloneMulti(String),
    /// The pattern's syntax tree is deeper than [`MAX_PATTERN_DEPTH`].
    TooDeep,
}

/// How deep a pattern's syntax tree may nest. Compiling and matching a
/// pattern recurse along it, so an unbounded pattern (say 20,000 `a + `
/// terms) would overflow the stack; real patterns stay far below this.
pub const MAX_PATTERN_DEPTH: usize = 500;

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatternError::Empty => write!(f, "pattern is empty"),
            PatternError::MultipleNodes => write!(
                f,
                "pattern has several top-level nodes; use one node (or `context` + `selector`)"
            ),
            PatternError::Syntax(s) => write!(f, "pattern does not parse: {s}"),
            PatternError::NoSelector(s) => {
                write!(f, "selector `{s}` matches no node in the pattern context")
            }
            PatternError::StandaloneMulti(s) => write!(
                f,
                "a pattern that is only `{s}` would match every node; use `$NAME` for one node, \
                 or put `{s}` inside a larger pattern"
            ),
            PatternError::TooDeep => write!(
                f,
                "pattern nests more than {MAX_PATTERN_DEPTH} levels deep (the limit for patterns)"
            ),
        }
    }
}

/// Swap `$` sigils for the language's expando character where they start a
/// metavariable, as ast-grep does.
pub fn preprocess(src: &str, lang: Lang) -> String {
    let expando = lang.expando();
    if expando == '$' {
        return src.to_string();
    }
    let mut out = String::with_capacity(src.len() + 8);
    let mut dollars = 0usize;
    for c in src.chars() {
        if c == '$' {
            dollars += 1;
            continue;
        }
        let replace = c.is_ascii_uppercase() || c == '_' || dollars == 3;
        let sigil = if replace { expando } else { '$' };
        out.extend(std::iter::repeat_n(sigil, dollars));
        dollars = 0;
        out.push(c);
    }
    let sigil = if dollars == 3 { expando } else { '$' };
    out.extend(std::iter::repeat_n(sigil, dollars));
    out
}

fn is_single_node(n: &Node) -> bool {
    match n.child_count() {
        1 => true,
        2 => {
            let c = n.child(1).expect("second child exists");
            c.is_missing() || c.kind().is_empty()
        }
        _ => false,
    }
}

fn first_error(node: Node) -> Option<Node> {
    if node.is_error() {
        return Some(node);
    }
    if !node.has_error() {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<_> = node.children(&mut cursor).collect();
    children.into_iter().find_map(first_error)
}

/// The text of the first ERROR node under `node` (as the user wrote it).
fn error_snippet(node: Node, processed: &str, lang: Lang) -> Option<String> {
    let err = first_error(node)?;
    let snippet: String = processed[err.byte_range()].chars().take(40).collect();
    Some(snippet.replace(lang.expando(), "$"))
}

fn syntax_error(processed: &str, err: Node, lang: Lang) -> PatternError {
    let snippet: String = processed[err.byte_range()].chars().take(40).collect();
    PatternError::Syntax(format!(
        "syntax error near `{}`",
        snippet.replace(lang.expando(), "$")
    ))
}

fn convert(node: Node, src: &str, sigil: char) -> PNode {
    let text = &src[node.byte_range()];
    if let Some(mv) = MetaVar::parse(text, sigil) {
        return PNode::MetaVar(mv);
    }
    if node.child_count() == 0 {
        return PNode::Terminal {
            kind: node.kind_id(),
            text: text.to_string(),
            named: node.is_named(),
        };
    }
    let mut cursor = node.walk();
    let children = node
        .children(&mut cursor)
        .filter(|c| !c.is_missing())
        .map(|c| convert(c, src, sigil))
        .collect();
    PNode::Internal {
        kind: node.kind_id(),
        children,
    }
}

/// Errors when the syntax tree under `root` is deeper than
/// [`MAX_PATTERN_DEPTH`]; iterative, so it is safe on any tree.
fn check_depth(root: Node) -> Result<(), PatternError> {
    let mut cursor = root.walk();
    let mut depth = 0usize;
    loop {
        if cursor.goto_first_child() {
            depth += 1;
            if depth > MAX_PATTERN_DEPTH {
                return Err(PatternError::TooDeep);
            }
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return Ok(());
            }
            depth -= 1;
        }
    }
}

/// A pattern whose root is `$$$`/`$$$NAME` matches any node: refused, as
/// ast-grep does.
fn check_root(root: &PNode, src: &str) -> Result<(), PatternError> {
    match root {
        PNode::MetaVar(mv) if mv.is_ellipsis() => {
            Err(PatternError::StandaloneMulti(src.trim().to_string()))
        }
        _ => Ok(()),
    }
}

impl Pattern {
    pub fn new(src: &str, lang: Lang, strictness: Strictness) -> Result<Pattern, PatternError> {
        let processed = preprocess(src, lang);
        let tree = lang.parse(&processed);
        let root = tree.root_node();
        check_depth(root)?;
        if root.child_count() == 0 {
            return Err(PatternError::Empty);
        }
        if !is_single_node(&root) {
            if let Some(err) = first_error(root) {
                return Err(syntax_error(&processed, err, lang));
            }
            return Err(PatternError::MultipleNodes);
        }
        // Unwrap the single-child chain. Grammars wrap a bare expression in
        // ERROR where a statement is expected (Rust `$X.len() == 0`);
        // ast-grep looks through such wrappers, and so do we.
        let mut node = root;
        while is_single_node(&node) {
            node = node.child(0).expect("single child");
        }
        if node.is_error() || node.is_missing() {
            return Err(syntax_error(&processed, node, lang));
        }
        let root = convert(node, &processed, lang.expando());
        check_root(&root, src)?;
        Ok(Pattern {
            root,
            root_kind: None,
            strictness,
            syntax_error: error_snippet(node, &processed, lang),
        })
    }

    /// ast-grep's `pattern: {context, selector}`: parse the context and use the
    /// first node of kind `selector` as the pattern.
    pub fn contextual(
        context: &str,
        selector: &str,
        lang: Lang,
        strictness: Strictness,
    ) -> Result<Pattern, PatternError> {
        let processed = preprocess(context, lang);
        let tree = lang.parse(&processed);
        check_depth(tree.root_node())?;
        let kind = lang
            .kind_id(selector)
            .ok_or_else(|| PatternError::NoSelector(selector.to_string()))?;
        let mut cursor = tree.walk();
        let found = loop {
            let n = cursor.node();
            if n.kind_id() == kind {
                break Some(n);
            }
            if cursor.goto_first_child() {
                continue;
            }
            let mut done = false;
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    done = true;
                    break;
                }
            }
            if done {
                break None;
            }
        };
        let node = found.ok_or_else(|| PatternError::NoSelector(selector.to_string()))?;
        let root = convert(node, &processed, lang.expando());
        check_root(
            &root,
            &processed[node.byte_range()].replace(lang.expando(), "$"),
        )?;
        Ok(Pattern {
            root,
            root_kind: Some(kind),
            strictness,
            syntax_error: error_snippet(node, &processed, lang),
        })
    }

    /// The kind a candidate must have, when the pattern fixes one (used to skip
    /// nodes cheaply).
    pub fn root_kind(&self) -> Option<u16> {
        match &self.root {
            PNode::Terminal { kind, .. } | PNode::Internal { kind, .. } => Some(*kind),
            PNode::MetaVar(_) => self.root_kind,
        }
    }

    pub fn defined_vars(&self) -> Vec<&str> {
        let mut v = Vec::new();
        self.root.collect_vars(&mut v);
        v
    }

    /// Matches `node` against the pattern, adding bindings to `env` only on
    /// success.
    pub fn matches<'t>(&self, node: Node<'t>, src: &str, env: &mut Env<'t>) -> bool {
        if let Some(k) = self.root_kind {
            if node.kind_id() != k {
                return false;
            }
        }
        let snap = env.snapshot();
        let ok = match (&self.root, self.strictness) {
            // Smart matching skips comments and other extras *inside* a
            // pattern, but a root metavariable stands for the candidate
            // itself and binds it even when it is an extra (as ast-grep).
            (PNode::MetaVar(mv), Strictness::Smart) => match_metavar(mv, node, src, env),
            _ => matches!(
                match_one(&self.root, node, src, env, self.strictness),
                One::Both
            ),
        };
        if !ok {
            env.rollback(snap);
        }
        ok
    }
}

enum One {
    Both,
    SkipBoth,
    SkipGoal,
    SkipCand,
    No,
}

/// Trivia between tokens that the grammar allows anywhere: comments, and in
/// Python the `\` line continuation. tree-sitter marks them "extra".
fn is_trivia(n: &Node) -> bool {
    n.is_extra()
}

fn skip_comment_or_unnamed(n: &Node) -> bool {
    !n.is_named() || is_trivia(n)
}

/// Whether a strictness looks through extras (comments, line
/// continuations) in the candidate. Without this a metavariable could bind
/// a `\` continuation or a comment instead of the operand after it, and a
/// fix would silently drop that operand.
fn skips_trivia(strictness: Strictness) -> bool {
    match strictness {
        Strictness::Cst | Strictness::Ast => false,
        Strictness::Smart | Strictness::Relaxed | Strictness::Signature => true,
    }
}

fn match_terminal(
    kind: u16,
    text: &str,
    named: bool,
    cand: Node,
    src: &str,
    strictness: Strictness,
) -> One {
    let kind_matched = kind == cand.kind_id();
    if kind_matched && (!named || text == &src[cand.byte_range()]) {
        return One::Both;
    }
    if skips_trivia(strictness) && is_trivia(&cand) {
        return One::SkipCand;
    }
    let (skip_goal, skip_cand) = match strictness {
        Strictness::Cst => (false, false),
        Strictness::Smart => (false, !cand.is_named()),
        Strictness::Ast | Strictness::Relaxed => (!named, !cand.is_named()),
        Strictness::Signature => {
            if kind_matched {
                return One::Both;
            }
            (!named, !cand.is_named())
        }
    };
    match (skip_goal, skip_cand) {
        (true, true) => One::SkipBoth,
        (true, false) => One::SkipGoal,
        (false, true) => One::SkipCand,
        (false, false) => One::No,
    }
}

fn should_skip_trailing(strictness: Strictness, cand: &Node) -> bool {
    match strictness {
        Strictness::Cst | Strictness::Ast => false,
        Strictness::Smart => true,
        Strictness::Relaxed | Strictness::Signature => skip_comment_or_unnamed(cand),
    }
}

fn should_skip_goal(strictness: Strictness, goals: &[PNode]) -> bool {
    goals.iter().all(|g| match strictness {
        Strictness::Cst => false,
        Strictness::Smart => matches!(g, PNode::MetaVar(mv) if mv.is_ellipsis()),
        _ => match g {
            PNode::MetaVar(MetaVar::Multiple | MetaVar::MultiCapture(_)) => true,
            PNode::MetaVar(MetaVar::Dropped(named) | MetaVar::Capture(_, named)) => !named,
            PNode::Terminal { named, .. } => !named,
            PNode::Internal { .. } => false,
        },
    })
}

/// Structural equality used when a metavariable is bound twice (ast-grep's
/// `does_node_match_exactly`). Iterative: the compared code can nest as
/// deep as the source file does, far past what the stack allows.
pub fn same_code(a: Node, b: Node, src: &str) -> bool {
    let named_leaf = |n: &Node| n.is_named() && n.child_count() == 0;
    let mut pending = vec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        if a.id() == b.id() {
            continue;
        }
        if named_leaf(&a) || named_leaf(&b) {
            if src[a.byte_range()] != src[b.byte_range()] {
                return false;
            }
            continue;
        }
        if a.kind_id() != b.kind_id() || a.child_count() != b.child_count() {
            return false;
        }
        let mut ca = a.walk();
        let mut cb = b.walk();
        pending.extend(a.children(&mut ca).zip(b.children(&mut cb)));
    }
    true
}

fn bind_single<'t>(name: &str, node: Node<'t>, src: &str, env: &mut Env<'t>) -> bool {
    match env.get(name) {
        Some(Binding::Single(prev)) => same_code(*prev, node, src),
        Some(Binding::Multi(prev)) => prev.len() == 1 && same_code(prev[0], node, src),
        None => {
            env.insert(name, Binding::Single(node));
            true
        }
    }
}

fn bind_multi<'t>(name: &str, nodes: Vec<Node<'t>>, src: &str, env: &mut Env<'t>) -> bool {
    match env.get(name) {
        Some(Binding::Multi(prev)) => {
            prev.len() == nodes.len()
                && prev
                    .iter()
                    .zip(nodes.iter())
                    .all(|(a, b)| same_code(*a, *b, src))
        }
        Some(Binding::Single(prev)) => nodes.len() == 1 && same_code(*prev, nodes[0], src),
        None => {
            env.insert(name, Binding::Multi(nodes));
            true
        }
    }
}

fn match_metavar<'t>(mv: &MetaVar, cand: Node<'t>, src: &str, env: &mut Env<'t>) -> bool {
    match mv {
        MetaVar::Capture(name, named) => {
            if *named && !cand.is_named() {
                return false;
            }
            bind_single(name, cand, src, env)
        }
        MetaVar::Dropped(named) => !*named || cand.is_named(),
        MetaVar::Multiple => true,
        MetaVar::MultiCapture(name) => bind_multi(name, vec![cand], src, env),
    }
}

fn match_one<'t>(
    goal: &PNode,
    cand: Node<'t>,
    src: &str,
    env: &mut Env<'t>,
    strictness: Strictness,
) -> One {
    match goal {
        PNode::Terminal { kind, text, named } => {
            match_terminal(*kind, text, *named, cand, src, strictness)
        }
        PNode::MetaVar(mv) => {
            if skips_trivia(strictness) && is_trivia(&cand) {
                return One::SkipCand;
            }
            if match_metavar(mv, cand, src, env) {
                One::Both
            } else {
                One::No
            }
        }
        PNode::Internal { kind, children } => {
            if *kind != cand.kind_id() {
                return One::No;
            }
            let mut cursor = cand.walk();
            let cands: Vec<Node<'t>> = cand.children(&mut cursor).collect();
            let snap = env.snapshot();
            if match_children(children, &cands, src, env, strictness) {
                One::Both
            } else {
                env.rollback(snap);
                One::No
            }
        }
    }
}

fn ellipsis_name(p: &PNode) -> Option<Option<&str>> {
    match p {
        PNode::MetaVar(MetaVar::Multiple) => Some(None),
        PNode::MetaVar(MetaVar::MultiCapture(n)) => Some(Some(n)),
        _ => None,
    }
}

fn bind_ellipsis<'t>(
    name: Option<&str>,
    mut nodes: Vec<Node<'t>>,
    skipped_anonymous: usize,
    src: &str,
    env: &mut Env<'t>,
) -> bool {
    match name {
        None => true,
        Some(n) => {
            let keep = nodes.len().saturating_sub(skipped_anonymous);
            nodes.truncate(keep);
            bind_multi(n, nodes, src, env)
        }
    }
}

/// The sibling-list matcher: ast-grep's `match_nodes_impl_recursive`.
fn match_children<'t>(
    goals: &[PNode],
    cands: &[Node<'t>],
    src: &str,
    env: &mut Env<'t>,
    strictness: Strictness,
) -> bool {
    if cands.is_empty() {
        return false;
    }
    let mut s = Siblings {
        goals,
        cands,
        g: 0,
        c: 0,
        src,
        strictness,
    };
    loop {
        if s.g >= goals.len() {
            return true;
        }
        match s.ellipsis(env) {
            Flow::Return(ok) => return ok,
            Flow::Continue => continue,
            Flow::Next => {}
        }
        if let Flow::Return(ok) = s.one_goal(env) {
            return ok;
        }
        if s.g < goals.len() {
            s.g += 1;
            s.c += 1;
        }
        if s.g >= goals.len() {
            return cands[s.c.min(cands.len())..]
                .iter()
                .all(|n| should_skip_trailing(strictness, n));
        }
        if s.c >= cands.len() {
            // ast-grep: `cand_children.peek()?` — goals remain but no candidates.
            return false;
        }
    }
}

/// What a step of the sibling matcher tells the loop.
enum Flow {
    /// The whole list is decided.
    Return(bool),
    /// Start the next round (another ellipsis follows).
    Continue,
    /// Go on with the current goal.
    Next,
}

/// Goal and candidate positions in one sibling list (ast-grep's two
/// peekable iterators).
struct Siblings<'a, 't> {
    goals: &'a [PNode],
    cands: &'a [Node<'t>],
    g: usize,
    c: usize,
    src: &'a str,
    strictness: Strictness,
}

impl<'t> Siblings<'_, 't> {
    /// ast-grep's `may_match_ellipsis_impl`: when the goal is `$$$`/`$$$A`,
    /// take candidates lazily up to the first one the next goal matches
    /// (probing without leaking bindings), and bind them.
    fn ellipsis(&mut self, env: &mut Env<'t>) -> Flow {
        let (goals, cands, src) = (self.goals, self.cands, self.src);
        let Some(name) = ellipsis_name(&goals[self.g]) else {
            return Flow::Next;
        };
        let mut matched: Vec<Node<'t>> = Vec::new();
        self.g += 1;
        if self.g >= goals.len() {
            matched.extend_from_slice(&cands[self.c..]);
            return Flow::Return(bind_ellipsis(name, matched, 0, src, env));
        }
        let mut skipped_anonymous = 0;
        while goals[self.g].is_trivial() {
            self.g += 1;
            skipped_anonymous += 1;
            if self.g >= goals.len() {
                matched.extend_from_slice(&cands[self.c..]);
                return Flow::Return(bind_ellipsis(name, matched, skipped_anonymous, src, env));
            }
        }
        if ellipsis_name(&goals[self.g]).is_some() {
            // Two ellipses in a row: the first takes exactly one node.
            if self.c >= cands.len() {
                return Flow::Return(false);
            }
            matched.push(cands[self.c]);
            self.c += 1;
            if self.c >= cands.len() || !bind_ellipsis(name, matched, skipped_anonymous, src, env) {
                return Flow::Return(false);
            }
            return Flow::Continue;
        }
        loop {
            // Probe without leaking partial bindings.
            let snap = env.snapshot();
            let hit = matches!(
                match_one(&goals[self.g], cands[self.c], src, env, self.strictness),
                One::Both
            );
            env.rollback(snap);
            if hit {
                if !bind_ellipsis(name, matched, skipped_anonymous, src, env) {
                    return Flow::Return(false);
                }
                return Flow::Next;
            }
            matched.push(cands[self.c]);
            self.c += 1;
            if self.c >= cands.len() {
                return Flow::Return(false);
            }
        }
    }

    /// ast-grep's `match_single_node_while_skip_trivial`: match the current
    /// goal, skipping what the strictness lets either side skip.
    fn one_goal(&mut self, env: &mut Env<'t>) -> Flow {
        let (goals, cands) = (self.goals, self.cands);
        loop {
            if self.c >= cands.len() {
                if should_skip_goal(self.strictness, &goals[self.g..]) {
                    self.g = goals.len();
                    return Flow::Next;
                }
                return Flow::Return(false);
            }
            match match_one(
                &goals[self.g],
                cands[self.c],
                self.src,
                env,
                self.strictness,
            ) {
                One::Both => return Flow::Next,
                One::SkipGoal => {
                    self.g += 1;
                    if self.g >= goals.len() {
                        return Flow::Next;
                    }
                }
                One::SkipBoth => {
                    self.c += 1;
                    self.g += 1;
                    if self.g >= goals.len() {
                        return Flow::Next;
                    }
                }
                One::SkipCand => self.c += 1,
                One::No => return Flow::Return(false),
            }
        }
    }
}
