//! Where each eval task's answers are in code that already has them, and how the
//! answer is taken out (see `docs/eval.md`).
//!
//! A [`Site`] names the answer's bytes and how the hole replaces them:
//! - *strip* sites (return and parameter annotations) take the annotation out of the
//!   code itself (`def f(x) -> int:` becomes `def f(x):`), so definition headers seen
//!   as cross-file context no longer carry answers either, and the edit puts the
//!   punctuation back with the hole (`def f(x) -> $?RET:`), exactly as the
//!   `rules/holes/py-return-type.yml` rule writes it;
//! - *replace* sites (keyword names, local names, Rust `let` types) keep the code and
//!   the edit replaces the answer's bytes with the hole.

use crate::lang::Lang;
use std::collections::HashSet;
use std::ops::Range;
use tree_sitter::Node;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    PyReturnType,
    PyParamType,
    PyKwargName,
    PyLocalName,
    RsLetType,
}

impl Task {
    pub const ALL: [Task; 5] = [
        Task::PyReturnType,
        Task::PyParamType,
        Task::PyKwargName,
        Task::PyLocalName,
        Task::RsLetType,
    ];

    pub fn parse(s: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Task::PyReturnType => "py-return-type",
            Task::PyParamType => "py-param-type",
            Task::PyKwargName => "py-kwarg-name",
            Task::PyLocalName => "py-local-name",
            Task::RsLetType => "rs-let-type",
        }
    }

    pub fn lang(self) -> Lang {
        match self {
            Task::RsLetType => Lang::Rust,
            _ => Lang::Python,
        }
    }

    /// The rule whose hole declaration the task's holes use (same `max_tokens`,
    /// `kind` and `regex` as the shipped rules in `rules/holes/`). Only `holes:` matters:
    /// sites are found by [`find_sites`], not by the rule's pattern.
    pub fn rule_yaml(self) -> &'static str {
        match self {
            Task::PyReturnType => {
                "id: eval-py-return-type\nlanguage: python\nrule: {kind: function_definition}\n\
                 fix: \"$?RET\"\nholes:\n  RET: {max_tokens: 8, kind: type}\n"
            }
            Task::PyParamType => {
                "id: eval-py-param-type\nlanguage: python\nrule: {kind: typed_parameter}\n\
                 fix: \"$?TYPE\"\nholes:\n  TYPE: {max_tokens: 8, kind: type}\n"
            }
            Task::PyKwargName => {
                "id: eval-py-kwarg-name\nlanguage: python\nrule: {kind: keyword_argument}\n\
                 fix: \"$?KW\"\nholes:\n  KW: {max_tokens: 8, kind: identifier, regex: '^[A-Za-z_][A-Za-z0-9_]*$'}\n"
            }
            Task::PyLocalName => {
                "id: eval-py-local-name\nlanguage: python\nrule: {kind: assignment}\n\
                 fix: \"$?NAME\"\nholes:\n  NAME: {max_tokens: 8, kind: identifier, regex: '^[A-Za-z_][A-Za-z0-9_]*$'}\n"
            }
            Task::RsLetType => {
                "id: eval-rs-let-type\nlanguage: rust\nrule: {kind: let_declaration}\n\
                 fix: \"$?TYPE\"\nholes:\n  TYPE: {max_tokens: 8}\n"
            }
        }
    }

    pub fn hole_name(self) -> &'static str {
        match self {
            Task::PyReturnType => "RET",
            Task::PyParamType | Task::RsLetType => "TYPE",
            Task::PyKwargName => "KW",
            Task::PyLocalName => "NAME",
        }
    }
}

/// One place whose answer is removed and filled again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The answer's bytes in the original text.
    pub answer: Range<usize>,
    /// Bytes taken out of the code (strip sites); `None` for replace sites.
    pub strip: Option<Range<usize>>,
    /// Text written before the hole at a strip site (`" -> "`, `": "`).
    pub prefix: &'static str,
}

/// Answer sites of `task` in one parsed file, in text order. `defined` holds the
/// names defined anywhere in the evaluated code (py-kwarg-name keeps only calls whose
/// callee is defined there, so its parameter names can be in context).
pub fn find_sites(
    task: Task,
    tree: &tree_sitter::Tree,
    text: &str,
    defined: &HashSet<String>,
) -> Vec<Site> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        visit(task, n, text, defined, &mut out);
        let mut c = n.walk();
        let children: Vec<Node> = n.children(&mut c).collect();
        stack.extend(children.into_iter().rev());
    }
    out.sort_by_key(|s| (s.answer.start, s.answer.end));
    out.dedup();
    out
}

fn visit(task: Task, n: Node, text: &str, defined: &HashSet<String>, out: &mut Vec<Site>) {
    match (task, n.kind()) {
        (Task::PyReturnType, "function_definition") => {
            if let (Some(p), Some(r)) = (
                n.child_by_field_name("parameters"),
                n.child_by_field_name("return_type"),
            ) {
                out.push(Site {
                    answer: r.byte_range(),
                    strip: Some(p.end_byte()..r.end_byte()),
                    prefix: " -> ",
                });
            }
        }
        (Task::PyParamType, "typed_parameter" | "typed_default_parameter") => {
            let name_end = n
                .child_by_field_name("name")
                .or_else(|| n.named_child(0))
                .map(|c| c.end_byte());
            if let (Some(e), Some(t)) = (name_end, n.child_by_field_name("type")) {
                if e <= t.start_byte() {
                    out.push(Site {
                        answer: t.byte_range(),
                        strip: Some(e..t.end_byte()),
                        prefix: ": ",
                    });
                }
            }
        }
        (Task::PyKwargName, "keyword_argument") => {
            let Some(name) = n.child_by_field_name("name") else {
                return;
            };
            let callee = n
                .parent()
                .filter(|p| p.kind() == "argument_list")
                .and_then(|p| p.parent())
                .filter(|c| c.kind() == "call")
                .and_then(|c| c.child_by_field_name("function"))
                .and_then(|f| match f.kind() {
                    "identifier" => Some(f),
                    "attribute" => f.child_by_field_name("attribute"),
                    _ => None,
                });
            if let Some(f) = callee {
                if name.kind() == "identifier" && defined.contains(&text[f.byte_range()]) {
                    out.push(Site {
                        answer: name.byte_range(),
                        strip: None,
                        prefix: "",
                    });
                }
            }
        }
        (Task::PyLocalName, "function_definition") => local_sites(n, text, out),
        (Task::RsLetType, "let_declaration") => {
            if let Some(t) = n.child_by_field_name("type") {
                out.push(Site {
                    answer: t.byte_range(),
                    strip: None,
                    prefix: "",
                });
            }
        }
        _ => {}
    }
}

/// The first assignment of each local name of a function (not a parameter), looking
/// into nested blocks but not into nested functions, classes or lambdas.
fn local_sites(f: Node, text: &str, out: &mut Vec<Site>) {
    let mut seen: HashSet<&str> = HashSet::new();
    if let Some(params) = f.child_by_field_name("parameters") {
        let mut c = params.walk();
        for p in params.named_children(&mut c) {
            let id = match p.kind() {
                "identifier" => Some(p),
                _ => p.child_by_field_name("name").or_else(|| {
                    let mut c2 = p.walk();
                    let found = p.named_children(&mut c2).find(|x| x.kind() == "identifier");
                    found
                }),
            };
            if let Some(id) = id {
                seen.insert(&text[id.byte_range()]);
            }
        }
    }
    let Some(body) = f.child_by_field_name("body") else {
        return;
    };
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        if n.kind() == "assignment" {
            if let Some(left) = n
                .child_by_field_name("left")
                .filter(|l| l.kind() == "identifier")
            {
                let name = &text[left.byte_range()];
                if seen.insert(name) {
                    out.push(Site {
                        answer: left.byte_range(),
                        strip: None,
                        prefix: "",
                    });
                }
            }
        }
        let mut c = n.walk();
        let children: Vec<Node> = n
            .children(&mut c)
            .filter(|ch| {
                !matches!(
                    ch.kind(),
                    "function_definition" | "class_definition" | "lambda" | "decorated_definition"
                )
            })
            .collect();
        stack.extend(children.into_iter().rev());
    }
}

/// The text with every strip site's bytes taken out, and a map from original offsets
/// (outside stripped ranges) to offsets in the new text.
pub fn strip(text: &str, sites: &[&Site]) -> (String, impl Fn(usize) -> usize) {
    let mut cuts: Vec<Range<usize>> = sites.iter().filter_map(|s| s.strip.clone()).collect();
    cuts.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut kept: Vec<Range<usize>> = Vec::new();
    for c in &cuts {
        if c.start < pos {
            continue;
        }
        out.push_str(&text[pos..c.start]);
        pos = c.end;
        kept.push(c.clone());
    }
    out.push_str(&text[pos..]);
    let map = move |off: usize| -> usize {
        let removed: usize = kept
            .iter()
            .map(|c| {
                if c.end <= off {
                    c.len()
                } else {
                    off.saturating_sub(c.start)
                }
            })
            .sum();
        off - removed
    };
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites_of(task: Task, text: &str) -> Vec<String> {
        let tree = task.lang().parse(text);
        let defined: HashSet<String> = ["f".to_string()].into();
        find_sites(task, &tree, text, &defined)
            .into_iter()
            .map(|s| text[s.answer].to_string())
            .collect()
    }

    #[test]
    fn sites_per_task() {
        let py = "def f(a: int, b: str = 'x', *args: Any) -> Dict[str, int]:\n    c = a\n    c = 2\n    \
                  d: int = 3\n    def inner():\n        e = 1\n    return f(a, key=c) + g(x=1)\n";
        assert_eq!(sites_of(Task::PyReturnType, py), vec!["Dict[str, int]"]);
        assert_eq!(sites_of(Task::PyParamType, py), vec!["int", "str", "Any"]);
        assert_eq!(sites_of(Task::PyKwargName, py), vec!["key"]);
        // first assignment per name, not parameters; `e` belongs to `inner`
        assert_eq!(sites_of(Task::PyLocalName, py), vec!["c", "d", "e"]);
        let rs = "fn f() { let a: Vec<u8> = vec![]; let b = 1; let mut c: &str = \"\"; }";
        assert_eq!(sites_of(Task::RsLetType, rs), vec!["Vec<u8>", "&str"]);
    }

    #[test]
    fn strip_removes_annotations_and_maps_offsets() {
        let text = "def f(a: int) -> str:\n    pass\n";
        let tree = Task::PyReturnType.lang().parse(text);
        let mut all = find_sites(Task::PyReturnType, &tree, text, &HashSet::new());
        all.extend(find_sites(Task::PyParamType, &tree, text, &HashSet::new()));
        let refs: Vec<&Site> = all.iter().collect();
        let (s, map) = strip(text, &refs);
        assert_eq!(s, "def f(a):\n    pass\n");
        assert_eq!(map(text.find(')').unwrap()), s.find(')').unwrap());
        assert_eq!(map(text.find(':').unwrap() + 5), s.find(')').unwrap());
        assert_eq!(map(text.len()), s.len());
    }
}
