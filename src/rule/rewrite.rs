//! `rewriters:` and the `rewrite` transform (ast-grep's): a rewriter is a
//! small rule with a fix; `rewrite` applies a list of rewriters to every
//! node under a captured metavariable and yields the rewritten text.
//!
//! Semantics kept from ast-grep 0.51: the nodes under the source are
//! visited in pre-order; at each node the first listed rewriter that
//! matches wins; an edit that starts inside an earlier one is skipped (so
//! the outermost match wins). A rewriter matches starting from the
//! environment of the enclosing rule (its metavariables are visible and
//! must agree), but bindings made by one rewriter are not passed on to the
//! rewriters its own transforms call. Without `joinBy` the source text is
//! returned with the edits applied; with it, only the edits' texts, joined.

use super::fix::Template;
use super::transform::{self, Derived, Transform};
use crate::matcher::{self, Binding, Ctx, Env, Matcher};
use std::ops::Range;

/// One compiled entry of `rewriters:`.
#[derive(Debug)]
pub struct Rewriter {
    pub id: String,
    pub matcher: Matcher,
    pub constraints: Vec<(String, Matcher)>,
    pub transforms: Vec<(String, Transform)>,
    pub fix: Template,
}

/// The `rewrite` transform for one match. `env` holds the source
/// metavariable; `enclosing` is the environment rewriters start from.
/// `None` when the source is unbound or empty (the variable stays unset).
pub fn rewrite<'t>(
    source: &str,
    use_rewriters: &[usize],
    join_by: Option<&str>,
    env: &Env<'t>,
    enclosing: &Env<'t>,
    ctx: Ctx<'_, 't>,
    rewriters: &[Rewriter],
) -> Option<Derived> {
    let nodes = match env.get(source)? {
        Binding::Single(n) => vec![*n],
        Binding::Multi(ns) => ns.clone(),
    };
    let (first, last) = (nodes.first()?, nodes.last()?);
    let span = first.start_byte()..last.end_byte();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for node in &nodes {
        matcher::preorder(*node, |n| {
            for &ri in use_rewriters {
                let rw = &rewriters[ri];
                let mut local = enclosing.clone();
                if !rw.matcher.matches(n, ctx, &mut local) || !constraints_hold(rw, &local, ctx) {
                    continue;
                }
                let vars = transform::run(&rw.transforms, &local, enclosing, ctx, rewriters);
                let text = rw.fix.render(&local, &vars, ctx.src, n.start_byte()).text;
                edits.push((n.byte_range(), text));
                break;
            }
        });
    }
    let mut out = String::new();
    let mut pos = span.start;
    let mut first_edit = true;
    for (range, text) in edits {
        if range.start < pos {
            continue; // inside an earlier edit
        }
        match join_by {
            Some(joiner) => {
                if !first_edit {
                    out.push_str(joiner);
                }
            }
            None => out.push_str(&ctx.src[pos..range.start]),
        }
        out.push_str(&text);
        pos = range.end;
        first_edit = false;
    }
    if join_by.is_none() {
        out.push_str(&ctx.src[pos.min(span.end)..span.end]);
    }
    Some(Derived {
        text: out,
        origin: span.start,
    })
}

fn constraints_hold<'t>(rw: &Rewriter, env: &Env<'t>, ctx: Ctx<'_, 't>) -> bool {
    rw.constraints.iter().all(|(var, rule)| match env.get(var) {
        Some(Binding::Single(n)) => {
            let mut scratch = env.clone();
            rule.matches(*n, ctx, &mut scratch)
        }
        _ => true,
    })
}
