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
//! pattern-matched one). In languages whose identifiers and keywords are
//! lexed greedily from `[A-Za-z0-9_]` (see [`word_boundaries`]), a keyword
//! or identifier terminal is a whole word in the file: `None` inside
//! `NoneType` does not count. A `regex` needs what every match of the
//! regex contains (literal runs, small classes expanded, alternatives as
//! `any`). A `kind` needs the keywords every node of that kind spells
//! (`kind: module` in TypeScript needs the word `module`), as the
//! grammar's rules say (`kind_keywords.rs`, generated from them and
//! checked by `tests/kind_keywords.rs`). A relational rule (`inside`,
//! `has`, ...) needs a related node that matches its own rule, in the same
//! file; in a unit of a partial parse, an `inside` target that may be a
//! block around the unit needs nothing ([`required_in_unit`]). `all` needs every part, `any` one of them; `not`, `nthChild`, `range` and patterns under
//! `signature` strictness (which ignores text) need nothing. As with any
//! literal, a token the parser made up to recover from a syntax error (a
//! MISSING node, which spells nothing) is not counted on.
//! `tests/prefilter.rs` and `scripts/differential.py` check that runs with
//! and without the prefilter give the same results.

use super::pattern::{PNode, Pattern, Strictness};
use super::{Matcher, Utils};
use crate::lang::Lang;
use memchr::memmem;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A condition on a file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literals {
    /// No requirement.
    Any,
    /// The text occurs in the file.
    Has(String),
    /// The text occurs in the file as a whole word: not preceded by
    /// `[A-Za-z_]`, not followed by `[A-Za-z0-9_]` (a digit may precede
    /// it: `1if` is two tokens).
    Word(String),
    /// The text occurs at the start of a token: not preceded by
    /// `[A-Za-z_]`.
    Starts(String),
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
            Literals::Word(s) => occurs(text, s.as_bytes(), true),
            Literals::Starts(s) => occurs(text, s.as_bytes(), false),
            Literals::All(parts) => parts.iter().all(|p| p.holds(text)),
            Literals::OneOf(parts) => parts.iter().any(|p| p.holds(text)),
        }
    }

    /// The same condition with each needle's searcher built once: a scan
    /// asks it of every file and of every unit a partial parse considers.
    pub fn compile(&self) -> Needles {
        let finder = |s: &str| memmem::Finder::new(s.as_bytes()).into_owned();
        Needles(match self {
            Literals::Any => Needle::Any,
            Literals::Has(s) => Needle::Has(finder(s)),
            Literals::Word(s) => Needle::Word(finder(s)),
            Literals::Starts(s) => Needle::Starts(finder(s)),
            Literals::All(parts) => Needle::All(parts.iter().map(|p| p.compile().0).collect()),
            Literals::OneOf(parts) => Needle::OneOf(parts.iter().map(|p| p.compile().0).collect()),
        })
    }

    /// A literal with the boundaries `text` allows in `lang`.
    fn token(text: &str, whole: bool, lang: Lang) -> Literals {
        let word_start = text
            .as_bytes()
            .first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_');
        if !word_boundaries(lang) || !word_start {
            return Literals::Has(text.to_string());
        }
        if whole && text.bytes().all(is_word_byte) {
            Literals::Word(text.to_string())
        } else {
            Literals::Starts(text.to_string())
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

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `needle` occurs in `text` not preceded by `[A-Za-z_]` (and, with
/// `whole`, not followed by `[A-Za-z0-9_]`). The ends of `text` count as
/// boundaries, so a slice cut at line starts is checked conservatively.
fn occurs(text: &[u8], needle: &[u8], whole: bool) -> bool {
    occurs_with(text, memmem::find_iter(text, needle), needle.len(), whole)
}

/// [`occurs`] over the places `found` gives.
fn occurs_with(
    text: &[u8],
    mut found: impl Iterator<Item = usize>,
    len: usize,
    whole: bool,
) -> bool {
    found.any(|at| {
        let before_ok = at == 0 || {
            let b = text[at - 1];
            !(b.is_ascii_alphabetic() || b == b'_')
        };
        let end = at + len;
        let after_ok = !whole || end >= text.len() || !is_word_byte(text[end]);
        before_ok && after_ok
    })
}

/// [`Literals`] compiled for searching ([`Literals::compile`]).
#[derive(Debug, Clone)]
pub struct Needles(Needle);

#[derive(Debug, Clone)]
enum Needle {
    Any,
    Has(memmem::Finder<'static>),
    Word(memmem::Finder<'static>),
    Starts(memmem::Finder<'static>),
    All(Vec<Needle>),
    OneOf(Vec<Needle>),
}

impl Needles {
    /// Whether `text` may hold a match ([`Literals::holds`]).
    pub fn holds(&self, text: &[u8]) -> bool {
        self.0.holds(text)
    }
}

impl Needle {
    fn holds(&self, text: &[u8]) -> bool {
        match self {
            Needle::Any => true,
            Needle::Has(f) => f.find(text).is_some(),
            Needle::Word(f) => occurs_with(text, f.find_iter(text), f.needle().len(), true),
            Needle::Starts(f) => occurs_with(text, f.find_iter(text), f.needle().len(), false),
            Needle::All(parts) => parts.iter().all(|p| p.holds(text)),
            Needle::OneOf(parts) => parts.iter().any(|p| p.holds(text)),
        }
    }
}

/// Languages whose keywords and identifiers are lexed greedily as maximal
/// runs of identifier characters (tree-sitter's `word` token), so a token
/// spelled `[A-Za-z_][A-Za-z0-9_]*` never touches another identifier
/// character. Extra identifier characters (`$` in JavaScript, non-ASCII
/// letters) only make a boundary look present, never absent.
fn word_boundaries(lang: Lang) -> bool {
    matches!(
        lang,
        Lang::Python
            | Lang::Rust
            | Lang::JavaScript
            | Lang::TypeScript
            | Lang::Tsx
            | Lang::Go
            | Lang::Java
    )
}

/// Terminal kinds lexed as whole words (identifiers and keyword-like
/// literals). Not string contents, comments or regex bodies: an escape
/// sequence can end in a letter right before them (`"\nabc"`).
fn word_kind(kind: &str) -> bool {
    matches!(
        kind,
        "identifier"
            | "type_identifier"
            | "field_identifier"
            | "property_identifier"
            | "shorthand_property_identifier"
            | "shorthand_property_identifier_pattern"
            | "statement_identifier"
            | "package_identifier"
            | "primitive_type"
            | "predefined_type"
            | "none"
            | "true"
            | "false"
            | "null"
            | "undefined"
            | "self"
            | "super"
            | "this"
            | "crate"
    )
}

/// What a file must contain for `m` (compiled for `lang`) to match in it.
pub fn required(m: &Matcher, utils: &Utils, lang: Lang) -> Literals {
    let cx = Cx {
        utils,
        lang,
        unit: None,
    };
    required_with(m, &cx, &mut vec![false; utils.rules.len()])
}

/// What the unit of a partial parse (`crate::items`) that holds a match of
/// `m` must contain: what [`required`] asks, but nothing of an `inside`
/// target that may be one of the `containers` (node kinds that enclose a
/// unit without lying in it, the root's included): such a block's keyword
/// or name lies in its header, outside the unit (`class`, or the name of
/// the function a rule looks at). An ancestor of any other kind lies in
/// the unit.
pub fn required_in_unit(m: &Matcher, utils: &Utils, lang: Lang, containers: &[u16]) -> Literals {
    let cx = Cx {
        utils,
        lang,
        unit: Some(containers),
    };
    required_with(m, &cx, &mut vec![false; utils.rules.len()])
}

struct Cx<'a> {
    utils: &'a Utils,
    lang: Lang,
    /// Literals for a unit of a partial parse, given the kinds that may
    /// enclose one ([`required_in_unit`]).
    unit: Option<&'a [u16]>,
}

fn required_with(m: &Matcher, cx: &Cx, visiting: &mut Vec<bool>) -> Literals {
    let utils = cx.utils;
    match m {
        Matcher::Pattern(p) => pattern(p, cx.lang),
        Matcher::All(ms) => {
            // A `regex` anchored at the node's start begins a token when
            // the node is a string or a word (`kind: string` + `^[uU]"`).
            let starts_token = ms.iter().any(|m| match m {
                Matcher::Kind(k) => cx
                    .lang
                    .grammar()
                    .node_kind_for_id(*k)
                    .is_some_and(|name| name == "string" || word_kind(name)),
                _ => false,
            });
            Literals::all(
                ms.iter()
                    .map(|m| match m {
                        Matcher::Regex(re) => regex(re.as_str(), starts_token, cx.lang),
                        m => required_with(m, cx, visiting),
                    })
                    .collect(),
            )
        }
        Matcher::Regex(re) => regex(re.as_str(), false, cx.lang),
        Matcher::Any(ms) => {
            Literals::one_of(ms.iter().map(|m| required_with(m, cx, visiting)).collect())
        }
        Matcher::Inside(r)
            if cx.unit.is_some_and(|containers| {
                r.rule
                    .potential_kinds(utils)
                    .is_none_or(|ks| ks.iter().any(|k| containers.contains(k)))
            }) =>
        {
            Literals::Any
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
        Matcher::Kind(k) => kind(*k, cx.lang),
        Matcher::Not(_) | Matcher::NthChild(_) | Matcher::Range { .. } => Literals::Any,
    }
}

/// The keywords every node of kind `k` spells, as whole words.
fn kind(k: u16, lang: Lang) -> Literals {
    use super::kind_keywords as table;
    let words: table::Table = match lang {
        Lang::Go => table::GO,
        Lang::Java => table::JAVA,
        Lang::JavaScript => table::JAVASCRIPT,
        Lang::Python => table::PYTHON,
        Lang::Rust => table::RUST,
        Lang::Tsx => table::TSX,
        Lang::TypeScript => table::TYPESCRIPT,
        _ => return Literals::Any,
    };
    let grammar = lang.grammar();
    let Some(name) = grammar
        .node_kind_for_id(k)
        .filter(|_| grammar.node_kind_is_named(k))
    else {
        return Literals::Any;
    };
    match words.binary_search_by(|(kind, _)| kind.cmp(&name)) {
        Ok(i) => Literals::all(
            words[i]
                .1
                .iter()
                .map(|w| Literals::token(w, true, lang))
                .collect(),
        ),
        Err(_) => Literals::Any,
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
    // Keywords (anonymous tokens spelled like their kind) and identifier
    // kinds are whole words.
    let whole_word =
        |kind: u16, named: bool| !named || grammar.node_kind_for_id(kind).is_some_and(word_kind);
    collect(&p.root, &literal_token, &mut out);
    Literals::all(
        out.into_iter()
            .map(|(kind, named, text)| {
                if whole_word(kind, named) {
                    Literals::token(&text, true, lang)
                } else {
                    Literals::Has(text)
                }
            })
            .collect(),
    )
}

type Terminal = (u16, bool, String);

fn collect(n: &PNode, literal_token: &dyn Fn(u16, &str) -> bool, out: &mut Vec<Terminal>) {
    match n {
        PNode::MetaVar(_) => {}
        PNode::Terminal { kind, text, named } => {
            let required = *named || literal_token(*kind, text);
            if required && !text.trim().is_empty() && !out.iter().any(|(_, _, t)| t == text) {
                out.push((*kind, *named, text.clone()));
            }
        }
        PNode::Internal { children, .. } => {
            children.iter().for_each(|c| collect(c, literal_token, out))
        }
    }
}

/// Most strings one regex piece may expand to (`[uU]["']`: 4).
const MAX_EXPANSION: usize = 16;

/// What every text a `regex:` matches in contains. The regex is searched
/// for in the node's text, so each of its matches is a substring of the
/// file. `starts_token`: a literal right after a leading `^` begins the
/// node, which begins a token.
fn regex(re: &str, starts_token: bool, lang: Lang) -> Literals {
    let Ok(hir) = regex_syntax::parse(re) else {
        return Literals::Any;
    };
    let anchored = starts_token
        && matches!(hir.kind(), HirKind::Concat(parts)
            if matches!(parts.first().map(Hir::kind), Some(HirKind::Look(Look::Start))));
    needs(&hir, anchored, lang)
}

/// Literals a match of `hir` contains; `anchored`: the first run starts a
/// token.
fn needs(hir: &Hir, anchored: bool, lang: Lang) -> Literals {
    if let Some(set) = exact(hir) {
        return one_of_texts(set, anchored, lang);
    }
    match hir.kind() {
        HirKind::Capture(c) => needs(&c.sub, anchored, lang),
        HirKind::Repetition(r) if r.min >= 1 => needs(&r.sub, anchored, lang),
        HirKind::Alternation(alts) => {
            Literals::one_of(alts.iter().map(|a| needs(a, false, lang)).collect())
        }
        HirKind::Concat(parts) => {
            let mut out = Vec::new();
            let mut run: Option<Vec<String>> = None;
            let mut first_run = anchored;
            for part in parts {
                match exact(part) {
                    Some(set) => {
                        run = Some(match run.take() {
                            None => set,
                            Some(prev) => match product(&prev, &set) {
                                Some(p) => p,
                                None => {
                                    out.push(one_of_texts(prev, first_run, lang));
                                    first_run = false;
                                    set
                                }
                            },
                        });
                    }
                    None => {
                        if let Some(prev) = run.take() {
                            out.push(one_of_texts(prev, first_run, lang));
                        }
                        first_run = false;
                        out.push(needs(part, false, lang));
                    }
                }
            }
            if let Some(prev) = run {
                out.push(one_of_texts(prev, first_run, lang));
            }
            Literals::all(out)
        }
        _ => Literals::Any,
    }
}

/// Texts of which a match must contain one; an empty text needs nothing.
fn one_of_texts(set: Vec<String>, starts_token: bool, lang: Lang) -> Literals {
    if set.iter().any(|s| s.is_empty()) {
        return Literals::Any;
    }
    Literals::one_of(
        set.iter()
            .map(|s| {
                if starts_token {
                    Literals::token(s, false, lang)
                } else {
                    Literals::Has(s.clone())
                }
            })
            .collect(),
    )
}

/// Every text `hir` can match, when there are few (anchors match "").
fn exact(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![String::new()]),
        HirKind::Literal(lit) => Some(vec![String::from_utf8(lit.0.to_vec()).ok()?]),
        HirKind::Class(Class::Unicode(c)) => {
            let mut out = Vec::new();
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    out.push(ch.to_string());
                    if out.len() > MAX_EXPANSION {
                        return None;
                    }
                }
            }
            Some(out)
        }
        HirKind::Class(Class::Bytes(_)) => None,
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Repetition(r) if r.min == 1 && r.max == Some(1) => exact(&r.sub),
        HirKind::Repetition(_) => None,
        HirKind::Concat(parts) => {
            let mut acc = vec![String::new()];
            for p in parts {
                acc = product(&acc, &exact(p)?)?;
            }
            Some(acc)
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(exact(a)?);
                if out.len() > MAX_EXPANSION {
                    return None;
                }
            }
            Some(out)
        }
    }
}

/// Every `a` followed by every `b`, unless that is too many.
fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() * b.len() > MAX_EXPANSION {
        return None;
    }
    Some(
        a.iter()
            .flat_map(|x| b.iter().map(move |y| format!("{x}{y}")))
            .collect(),
    )
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
