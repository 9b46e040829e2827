//! Whether a rule is *item-local*: every node a match of it looks at lies in
//! the item (a top-level statement, or a member of a top-level class) that
//! holds the matched node, or is one of the item's *containers* (the
//! file's root, and the class, its body and its decorated definition
//! around a member), and then only its kind is looked at. A parse of only
//! some items (see `crate::items`) keeps every item it parses and the
//! containers around them, so it finds every match those items hold.
//!
//! A rule is item-local when
//! - its matched node can never be a container or an error node (its
//!   potential kinds exclude them): a container's text and children differ
//!   in a partial parse;
//! - it never looks at siblings or positions among them (`follows`,
//!   `precedes`, `nthChild`): an item's siblings are other items;
//! - every `inside` target (and `stopBy` rule of one, which is tried on
//!   the same ancestors) either cannot be a container, so what it finds
//!   lies in the item, or only looks at kinds (`kind`, `not`, `all`, `any`
//!   and `inside` of such rules) and at the container's *header fields*
//!   (`has` with a `field` such as `name` or `parameters`, one level down:
//!   a container's header is parsed whenever any of it is):
//!   `inside: {kind: function_item, has: {field: name, regex: ^is_empty$}}`
//!   holds in a partial parse exactly when it holds in the whole one. `has`
//!   only looks down into the item.
//!
//! Constraints are checked the same way (they run on nodes the match bound).

use super::{Matcher, StopBy, Utils};

/// The language's kinds that matter to locality: the containers (the
/// root's included), the fields that only ever name a part of a
/// container's header, and the error kind.
pub struct Containers<'a> {
    pub kinds: &'a [u16],
    pub header_fields: &'a [u16],
    pub error_kind: u16,
}

/// Whether `m` (with its `constraints` and `utils`) is item-local, given
/// the language's containers.
pub fn item_local(
    m: &Matcher,
    constraints: &[&Matcher],
    utils: &Utils,
    containers: &Containers,
) -> bool {
    let cx = Cx {
        utils,
        containers: containers.kinds,
        header_fields: containers.header_fields,
        error_kind: containers.error_kind,
    };
    let mut seen = vec![false; utils.rules.len()];
    cx.never_container(m)
        && local(m, &cx, &mut seen)
        && constraints.iter().all(|c| local(c, &cx, &mut seen))
}

struct Cx<'a> {
    utils: &'a Utils,
    containers: &'a [u16],
    header_fields: &'a [u16],
    error_kind: u16,
}

impl Cx<'_> {
    /// The kinds `m` can match are known and include no container and no
    /// error node.
    fn never_container(&self, m: &Matcher) -> bool {
        m.potential_kinds(self.utils).is_some_and(|ks| {
            !ks.iter()
                .any(|k| *k == self.error_kind || self.containers.contains(k))
        })
    }

    /// `m`, tried on ancestors, gives the same answer on a container in a
    /// partial parse as in the whole one.
    fn upward_safe(&self, m: &Matcher, seen: &mut Vec<bool>) -> bool {
        local(m, self, seen) && (self.never_container(m) || kinds_only(m, self, &mut Vec::new()))
    }
}

/// `m` looks at nothing but the kinds of a node and its ancestors, and at
/// the node's header fields (with item-local rules).
fn kinds_only(m: &Matcher, cx: &Cx, visiting: &mut Vec<usize>) -> bool {
    match m {
        Matcher::Kind(_) => true,
        Matcher::Has(rel) => {
            rel.field.is_some_and(|f| cx.header_fields.contains(&f))
                && matches!(rel.stop_by, StopBy::Neighbor)
                && local(&rel.rule, cx, &mut vec![false; cx.utils.rules.len()])
        }
        Matcher::Not(m) => kinds_only(m, cx, visiting),
        Matcher::All(ms) | Matcher::Any(ms) => ms.iter().all(|m| kinds_only(m, cx, visiting)),
        Matcher::Inside(rel) => {
            kinds_only(&rel.rule, cx, visiting)
                && match &rel.stop_by {
                    StopBy::Neighbor | StopBy::End => true,
                    StopBy::Rule(m) => kinds_only(m, cx, visiting),
                }
        }
        Matcher::Util(i) => {
            if visiting.contains(i) {
                return true;
            }
            visiting.push(*i);
            let ok = kinds_only(&cx.utils.rules[*i], cx, visiting);
            visiting.pop();
            ok
        }
        _ => false,
    }
}

/// `seen[i]`: util `i` is being (or has been) checked, so a cycle through
/// utils ends.
fn local(m: &Matcher, cx: &Cx, seen: &mut Vec<bool>) -> bool {
    match m {
        Matcher::Pattern(_) | Matcher::Kind(_) | Matcher::Regex(_) | Matcher::Range { .. } => true,
        Matcher::NthChild(_) | Matcher::Precedes(_) | Matcher::Follows(_) => false,
        Matcher::Has(rel) => local(&rel.rule, cx, seen) && stop_local(&rel.stop_by, cx, seen),
        Matcher::Inside(rel) => {
            cx.upward_safe(&rel.rule, seen)
                && match &rel.stop_by {
                    StopBy::Neighbor | StopBy::End => true,
                    StopBy::Rule(m) => cx.upward_safe(m, seen),
                }
        }
        Matcher::All(ms) | Matcher::Any(ms) => ms.iter().all(|m| local(m, cx, seen)),
        Matcher::Not(m) => local(m, cx, seen),
        Matcher::Util(i) => {
            if seen.get(*i).copied().unwrap_or(true) {
                return true;
            }
            seen[*i] = true;
            local(&cx.utils.rules[*i], cx, seen)
        }
    }
}

fn stop_local(stop: &StopBy, cx: &Cx, seen: &mut Vec<bool>) -> bool {
    match stop {
        StopBy::Neighbor | StopBy::End => true,
        StopBy::Rule(m) => local(m, cx, seen),
    }
}
