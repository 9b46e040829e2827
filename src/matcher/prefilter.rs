//! Literal prefilter: text a file must contain for a rule to match in it,
//! derived from the compiled rule, so files (or rules for a file) that
//! cannot match are skipped before parsing.
//!
//! Soundness (why a skipped file could never have matched): a pattern's
//! named terminal must be matched by a node of the same kind with the same
//! text, so that text occurs in the file; an anonymous terminal (a token
//! like `==` or `return`) must be matched by a node of its kind under
//! `smart` and `cst`, which never skip a pattern token, and is required only
//! when its text is its kind's name (a literal token, not a renamed
//! pattern-matched one). A relational rule (`inside`, `has`, ...) needs a related node that
//! matches its own rule, in the same file. `all` needs every part, `any`
//! one of them; `not`, `kind`, `regex`, `nthChild`, `range` and patterns
//! under `signature` strictness (which ignores text) need nothing.
//! `tests/prefilter.rs` and `scripts/differential.py` check that runs with
//! and without the prefilter give the same results.

use super::pattern::{PNode, Pattern, Strictness};
use super::{Matcher, Utils};
use crate::lang::Lang;
use memchr::memmem;

/// A condition on a file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literals {
    /// No requirement.
    Any,
    /// The text occurs in the file.
    Has(String),
    /// Every part holds.
    All(Vec<Literals>),
    /// Some part holds.
    OneOf(Vec<Literals>),
}

impl Literals {
    /// Whether `text` may hold a match.
    pub fn holds(&self, text: &[u8]) -> bool {
        match self {
            Literals::Any => true,
            Literals::Has(s) => memmem::find(text, s.as_bytes()).is_some(),
            Literals::All(parts) => parts.iter().all(|p| p.holds(text)),
            Literals::OneOf(parts) => parts.iter().any(|p| p.holds(text)),
        }
    }

    fn all(parts: Vec<Literals>) -> Literals {
        let mut flat: Vec<Literals> = Vec::new();
        for p in parts {
            match p {
                Literals::Any => {}
                Literals::All(inner) => flat.extend(inner),
                other => {
                    if !flat.contains(&other) {
                        flat.push(other);
                    }
                }
            }
        }
        match flat.len() {
            0 => Literals::Any,
            1 => flat.pop().expect("one"),
            _ => Literals::All(flat),
        }
    }

    fn one_of(parts: Vec<Literals>) -> Literals {
        if parts.is_empty() || parts.contains(&Literals::Any) {
            return Literals::Any;
        }
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one");
        }
        Literals::OneOf(parts)
    }
}

/// What a file must contain for `m` (compiled for `lang`) to match in it.
pub fn required(m: &Matcher, utils: &Utils, lang: Lang) -> Literals {
    let cx = Cx { utils, lang };
    required_with(m, &cx, &mut vec![false; utils.rules.len()])
}

struct Cx<'a> {
    utils: &'a Utils,
    lang: Lang,
}

fn required_with(m: &Matcher, cx: &Cx, visiting: &mut Vec<bool>) -> Literals {
    let utils = cx.utils;
    match m {
        Matcher::Pattern(p) => pattern(p, cx.lang),
        Matcher::All(ms) => {
            Literals::all(ms.iter().map(|m| required_with(m, cx, visiting)).collect())
        }
        Matcher::Any(ms) => {
            Literals::one_of(ms.iter().map(|m| required_with(m, cx, visiting)).collect())
        }
        Matcher::Inside(r) | Matcher::Has(r) | Matcher::Precedes(r) | Matcher::Follows(r) => {
            required_with(&r.rule, cx, visiting)
        }
        Matcher::Util(i) => {
            // A util reached again through itself adds nothing new.
            if visiting.get(*i).copied().unwrap_or(true) {
                return Literals::Any;
            }
            visiting[*i] = true;
            let req = required_with(&utils.rules[*i], cx, visiting);
            visiting[*i] = false;
            req
        }
        Matcher::Not(_)
        | Matcher::Kind(_)
        | Matcher::Regex(_)
        | Matcher::NthChild(_)
        | Matcher::Range { .. } => Literals::Any,
    }
}

/// Every terminal text of the pattern that a match must contain.
fn pattern(p: &Pattern, lang: Lang) -> Literals {
    let anonymous = match p.strictness {
        Strictness::Cst | Strictness::Smart => true,
        Strictness::Ast | Strictness::Relaxed => false,
        Strictness::Signature => return Literals::Any,
    };
    let mut out = Vec::new();
    let grammar = lang.grammar();
    let literal_token = |kind: u16, text: &str| {
        anonymous && grammar.node_kind_for_id(kind).is_some_and(|k| k == text)
    };
    collect(&p.root, &literal_token, &mut out);
    Literals::all(out.into_iter().map(Literals::Has).collect())
}

fn collect(n: &PNode, literal_token: &dyn Fn(u16, &str) -> bool, out: &mut Vec<String>) {
    match n {
        PNode::MetaVar(_) => {}
        PNode::Terminal { kind, text, named } => {
            let required = *named || literal_token(*kind, text);
            if required && !text.trim().is_empty() && !out.contains(text) {
                out.push(text.clone());
            }
        }
        PNode::Internal { children, .. } => {
            children.iter().for_each(|c| collect(c, literal_token, out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_and_one_of_flatten_and_evaluate() {
        let req = Literals::all(vec![
            Literals::Has("None".into()),
            Literals::Any,
            Literals::one_of(vec![Literals::Has("==".into()), Literals::Has("!=".into())]),
        ]);
        assert!(req.holds(b"x != None"));
        assert!(!req.holds(b"x == Nothing"));
        assert_eq!(
            Literals::one_of(vec![Literals::Has("a".into()), Literals::Any]),
            Literals::Any
        );
    }
}
