//! Stage 4a: the answers the walked code already offers for a hole.
//!
//! A hole that is the name of a keyword argument (`f(a, $?KW=value)`) whose
//! callee is defined in the walked Python code has a finite answer set: the
//! callee's parameter names. [`DefIndex`] collects every `def` and `class` of
//! the walked files (a class stands for its `__init__`); [`for_file`] finds,
//! for each hole of a rewritten file, the callee by its last name (`f(...)`,
//! `obj.f(...)`, `Cls(...)`) and returns the parameter names it may still take.
//! The denoiser then ranks those names instead of decoding freely
//! (`denoise::Candidates`, `Denoiser::fill_ranked`).
//!
//! Which names a call may still take: the parameters of every definition of
//! that name (union over definitions), without `self`/`cls`, `*args`, the
//! positional-only ones (before `/`), the ones the call already fills by
//! position, and the names it already passes as keywords; keyword-only
//! parameters are included. A class without `__init__` takes its bases'
//! `__init__` and its own annotated fields (dataclass, attrs); `super().__init__`
//! the bases of the enclosing class. A definition with `**kwargs`, or a base class
//! not in the code, makes the set open: free decoding stays one of the competitors.
//! Keyword holes of one call are exclusive (`Candidates::exclusive`).
//!
//! A hole that is a whole annotation (`x: $?TYPE`, `def f() -> $?RET`) takes the
//! annotations the walked code writes for parameters named `x`, or for the
//! returns of functions named `f` ([`DefIndex::annotations`]); such a set is
//! always open.

use crate::denoise::Candidates;
use crate::lang::{callee_name, Lang};
use std::collections::{BTreeSet, HashMap};
use tree_sitter::Node;

/// A definition's parameters as a call sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// Positional-or-keyword parameters in order (`self`/`cls` and positional-only
    /// ones left out).
    pub positional: Vec<String>,
    /// Keyword-only parameters (after `*` or `*args`).
    pub keyword_only: Vec<String>,
    /// Number of parameters before `/` (`self`/`cls` not counted): positional
    /// arguments fill these first.
    pub positional_only: usize,
    /// `**kwargs`, or (after [`DefIndex::resolve`]) a base class not in the code:
    /// other names are accepted too.
    pub open: bool,
    /// A class without `__init__`: the last names of its base classes, whose
    /// `__init__` it inherits ([`DefIndex::resolve`]); `positional` then holds its
    /// own annotated fields (dataclass, attrs), if any.
    pub bases: Option<Vec<String>>,
}

/// What one Python file offers: its definitions, and the annotations its code
/// already writes (type candidates).
#[derive(Debug, Clone, Default)]
pub struct FileDefs {
    /// Every `def` and `class`, by name.
    pub defs: Vec<(String, Signature)>,
    /// Every annotation of a parameter (`name: T`, `name: T = v`) and every return
    /// annotation (`def name(...) -> T`), whitespace collapsed.
    pub annotations: Vec<(AnnotationOf, String)>,
    /// Every keyword argument of every call, as (callee's last name, keyword):
    /// how often a callee's keywords are written ranks its keyword candidates.
    pub keywords: Vec<(String, String)>,
}

/// What an annotation is written for: type holes take the annotations the code
/// writes for the same parameter name, or the same function name's return.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnnotationOf {
    Param(String),
    Return(String),
}

/// Every `def` and `class` of the walked Python files, by name, and the
/// annotations they write.
#[derive(Debug, Clone, Default)]
pub struct DefIndex {
    defs: HashMap<String, Vec<Signature>>,
    /// Annotation text -> how often, per parameter or function name.
    annotations: HashMap<AnnotationOf, HashMap<String, usize>>,
    /// Callee's last name -> keyword -> how often calls pass it.
    keywords: HashMap<String, HashMap<String, usize>>,
}

/// Adds one to how often `item` is seen under `key`.
fn count<K: Eq + std::hash::Hash, T: Eq + std::hash::Hash>(
    map: &mut HashMap<K, HashMap<T, usize>>,
    key: K,
    item: T,
) {
    *map.entry(key).or_default().entry(item).or_default() += 1;
}

/// Most type candidates a hole takes (the most often written first).
pub const MAX_TYPE_CANDIDATES: usize = 6;

impl DefIndex {
    /// Indexes the definitions of Python source texts.
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> DefIndex {
        let mut idx = DefIndex::default();
        for t in texts {
            idx.extend(file_defs(t));
        }
        idx
    }

    /// Adds what [`file_defs`] found in one file.
    pub fn extend(&mut self, found: FileDefs) {
        for (name, sig) in found.defs {
            let list = self.defs.entry(name).or_default();
            if !list.contains(&sig) {
                list.push(sig);
            }
        }
        for (of, text) in found.annotations {
            count(&mut self.annotations, of, text);
        }
        for (callee, kw) in found.keywords {
            count(&mut self.keywords, callee, kw);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty() && self.annotations.is_empty()
    }

    /// How often the walked calls of `callee` (by last name) pass keyword `kw`.
    pub fn keyword_count(&self, callee: &str, kw: &str) -> usize {
        self.keywords
            .get(callee)
            .and_then(|k| k.get(kw))
            .copied()
            .unwrap_or(0)
    }

    /// The annotations the code writes for `of`, with how often each is written, most
    /// often written first (ties by text), at most [`MAX_TYPE_CANDIDATES`].
    pub fn annotations(&self, of: &AnnotationOf) -> Vec<(String, usize)> {
        let Some(counts) = self.annotations.get(of) else {
            return Vec::new();
        };
        let mut v: Vec<(&String, &usize)> = counts.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        v.into_iter()
            .take(MAX_TYPE_CANDIDATES)
            .map(|(t, n)| (t.clone(), *n))
            .collect()
    }

    /// The definitions named `name`.
    pub fn get(&self, name: &str) -> &[Signature] {
        self.defs.get(name).map_or(&[], Vec::as_slice)
    }

    /// The signatures a call of `name` sees: a class without `__init__` takes its
    /// bases' `__init__` parameters, then its own annotated fields (the `__init__` a
    /// dataclass or attrs decorator generates, or a stub's); it is open when a base is
    /// not defined in the code.
    pub fn resolve(&self, name: &str) -> Vec<Signature> {
        self.resolve_at(name, 0)
    }

    fn resolve_at(&self, name: &str, depth: usize) -> Vec<Signature> {
        let mut out = Vec::new();
        for sig in self.get(name) {
            let Some(bases) = &sig.bases else {
                out.push(sig.clone());
                continue;
            };
            let fields = &sig.positional;
            let mut inherited: Vec<Signature> = Vec::new();
            let mut unresolved = false;
            for b in bases {
                let found = if depth < 8 && b != name {
                    self.resolve_at(b, depth + 1)
                } else {
                    Vec::new()
                };
                unresolved |= found.is_empty();
                inherited.extend(found);
            }
            if inherited.is_empty() {
                out.push(Signature {
                    positional: fields.clone(),
                    keyword_only: Vec::new(),
                    positional_only: 0,
                    open: unresolved,
                    bases: None,
                });
                continue;
            }
            for mut base in inherited {
                base.positional.extend(fields.iter().cloned());
                base.open |= unresolved;
                out.push(base);
            }
        }
        out
    }
}

/// The `def`s and `class`es of one Python text (nested ones and methods included),
/// its parameter and return annotations, and the keywords its calls pass.
pub fn file_defs(text: &str) -> FileDefs {
    if !text.contains("def ") && !text.contains("class ") && !text.contains('=') {
        return FileDefs::default();
    }
    defs_in(&Lang::Python.parse(text), text)
}

/// [`file_defs`] on a tree the caller already parsed from `text`.
pub fn defs_in(tree: &tree_sitter::Tree, text: &str) -> FileDefs {
    if !text.contains("def ") && !text.contains("class ") && !text.contains('=') {
        return FileDefs::default();
    }
    let mut out = Vec::new();
    let mut annotations = Vec::new();
    let mut keywords = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "function_definition" => {
                if let (Some(name), Some(params)) = (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("parameters"),
                ) {
                    let fname = node_text(name, text);
                    out.push((fname.to_string(), signature(params, text, is_method(n))));
                    if let Some(ret) = n.child_by_field_name("return_type") {
                        annotations.push((
                            AnnotationOf::Return(fname.to_string()),
                            collapse(node_text(ret, text)),
                        ));
                    }
                    param_annotations(params, text, &mut annotations);
                }
            }
            "class_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    out.push((node_text(name, text).to_string(), class_signature(n, text)));
                }
            }
            "call" => call_keywords(n, text, &mut keywords),
            _ => {}
        }
        let mut c = n.walk();
        stack.extend(n.named_children(&mut c));
    }
    FileDefs {
        defs: out,
        annotations,
        keywords,
    }
}

/// The keyword names `call` passes, each with its callee's last name
/// (`super().__init__(...)` is left out: its callee is no name of its own).
fn call_keywords(call: Node, text: &str, out: &mut Vec<(String, String)>) {
    let (Some(f), Some(args)) = (
        call.child_by_field_name("function"),
        call.child_by_field_name("arguments"),
    ) else {
        return;
    };
    if args.kind() != "argument_list" || is_super_init(f, text) {
        return;
    }
    let Some(callee) = callee_name(call, text) else {
        return;
    };
    let mut c = args.walk();
    for a in args.named_children(&mut c) {
        if a.kind() != "keyword_argument" {
            continue;
        }
        if let Some(n) = a
            .child_by_field_name("name")
            .filter(|n| n.kind() == "identifier")
        {
            out.push((callee.to_string(), node_text(n, text).to_string()));
        }
    }
}

fn node_text<'a>(n: Node, text: &'a str) -> &'a str {
    &text[n.byte_range()]
}

/// `text` with every run of whitespace as one space and no space around it (how
/// fills and answers are compared; `eval` uses it too).
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The annotations of a parameter list's named parameters (`x: T`, `x: T = v`;
/// `*args: T` and `**kw: T` annotate their elements and are left out).
fn param_annotations(params: Node, text: &str, out: &mut Vec<(AnnotationOf, String)>) {
    let mut c = params.walk();
    for p in params.named_children(&mut c) {
        if let Some((name, ty)) = typed_param_name(p) {
            out.push((
                AnnotationOf::Param(node_text(name, text).to_string()),
                collapse(node_text(ty, text)),
            ));
        }
    }
}

/// The name and type nodes of a typed parameter, `None` for splats and others.
fn typed_param_name(p: Node) -> Option<(Node, Node)> {
    let name = match p.kind() {
        "typed_default_parameter" => p.child_by_field_name("name")?,
        "typed_parameter" => p.named_child(0)?,
        _ => return None,
    };
    (name.kind() == "identifier").then_some(())?;
    Some((name, p.child_by_field_name("type")?))
}

/// Whether a `function_definition` is a method: defined (or decorated) directly in
/// a class body, so that its first parameter is the instance or the class.
fn is_method(def: Node) -> bool {
    let mut p = def.parent();
    if p.is_some_and(|d| d.kind() == "decorated_definition") {
        p = p.and_then(|d| d.parent());
    }
    p.is_some_and(|b| b.kind() == "block")
        && p.and_then(|b| b.parent())
            .is_some_and(|c| c.kind() == "class_definition")
}

/// A parameter list as a call sees it; a method's first parameter named `self` or
/// `cls` is left out (a call passes it implicitly), a function's is not.
fn signature(params: Node, text: &str, method: bool) -> Signature {
    let mut sig = Signature::default();
    let mut keyword_only = false;
    let mut first = true;
    let mut c = params.walk();
    for p in params.named_children(&mut c) {
        let name = match p.kind() {
            "identifier" => Some(p),
            "default_parameter" | "typed_default_parameter" => p.child_by_field_name("name"),
            "typed_parameter" => {
                let mut c2 = p.walk();
                let inner = p.named_children(&mut c2).next();
                match inner.map(|i| i.kind()) {
                    Some("list_splat_pattern") => {
                        keyword_only = true;
                        None
                    }
                    Some("dictionary_splat_pattern") => {
                        sig.open = true;
                        None
                    }
                    _ => inner.filter(|i| i.kind() == "identifier"),
                }
            }
            "list_splat_pattern" | "keyword_separator" => {
                keyword_only = true;
                None
            }
            "dictionary_splat_pattern" => {
                sig.open = true;
                None
            }
            "positional_separator" => {
                sig.positional_only += sig.positional.len();
                sig.positional.clear();
                None
            }
            _ => None,
        };
        let was_first = std::mem::replace(&mut first, false);
        let Some(name) = name.filter(|n| n.kind() == "identifier") else {
            continue;
        };
        let name = node_text(name, text);
        if method && was_first && (name == "self" || name == "cls") {
            continue;
        }
        if keyword_only {
            sig.keyword_only.push(name.to_string());
        } else {
            sig.positional.push(name.to_string());
        }
    }
    sig
}

/// Base classes that add no `__init__` parameters.
const PLAIN_BASES: [&str; 6] = [
    "object",
    "ABC",
    "Generic",
    "Protocol",
    "NamedTuple",
    "TypedDict",
];

/// The last names of a class's base classes (keywords such as `metaclass=`
/// and bases that take no arguments left out).
fn base_names(class: Node, text: &str) -> Vec<String> {
    let Some(list) = class.child_by_field_name("superclasses") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut c = list.walk();
    for b in list.named_children(&mut c) {
        let b = if b.kind() == "subscript" {
            match b.child_by_field_name("value") {
                Some(v) => v,
                None => continue,
            }
        } else {
            b
        };
        let name = match b.kind() {
            "identifier" => node_text(b, text),
            "attribute" => match b.child_by_field_name("attribute") {
                Some(a) => node_text(a, text),
                None => continue,
            },
            _ => continue,
        };
        if !PLAIN_BASES.contains(&name) {
            out.push(name.to_string());
        }
    }
    out
}

/// A class as a callee: its `__init__`'s parameters; without one, its base classes
/// (resolved at lookup, [`DefIndex::resolve`]) and its own annotated fields.
fn class_signature(class: Node, text: &str) -> Signature {
    let bases = base_names(class, text);
    let Some(body) = class.child_by_field_name("body") else {
        return Signature {
            bases: Some(bases),
            ..Default::default()
        };
    };
    let mut fields = Vec::new();
    let mut c = body.walk();
    for stmt in body.named_children(&mut c) {
        let def = match stmt.kind() {
            "function_definition" => Some(stmt),
            "decorated_definition" => stmt
                .child_by_field_name("definition")
                .filter(|d| d.kind() == "function_definition"),
            _ => None,
        };
        if let Some(d) = def {
            if d.child_by_field_name("name")
                .is_some_and(|n| node_text(n, text) == "__init__")
            {
                if let Some(params) = d.child_by_field_name("parameters") {
                    return signature(params, text, true);
                }
            }
            continue;
        }
        // `x: int = ...` / `x = attr.ib()` at class level (dataclass, attrs fields).
        if stmt.kind() == "expression_statement" {
            if let Some(a) = stmt.named_child(0).filter(|a| a.kind() == "assignment") {
                let left = a
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "identifier");
                let typed = a.child_by_field_name("type").is_some();
                let field_call = a.child_by_field_name("right").is_some_and(|r| {
                    r.kind() == "call"
                        && r.child_by_field_name("function").is_some_and(|f| {
                            let name = node_text(f, text);
                            let last = name.rsplit('.').next().unwrap_or(name);
                            matches!(last, "ib" | "attrib" | "field")
                        })
                });
                if let Some(l) = left.filter(|_| typed || field_call) {
                    let name = node_text(l, text);
                    if !name.starts_with("__") {
                        fields.push(name.trim_start_matches('_').to_string());
                    }
                }
            }
        }
    }
    Signature {
        positional: fields,
        keyword_only: Vec::new(),
        positional_only: 0,
        open: false,
        bases: Some(bases),
    }
}

/// Whether `f` (a call's function) is `super().__init__`.
fn is_super_init(f: Node, text: &str) -> bool {
    f.kind() == "attribute"
        && f.child_by_field_name("attribute")
            .is_some_and(|a| node_text(a, text) == "__init__")
        && f.child_by_field_name("object").is_some_and(|o| {
            o.kind() == "call"
                && o.child_by_field_name("function")
                    .is_some_and(|g| node_text(g, text) == "super")
        })
}

/// The class whose body (or a method of it) holds `n`.
fn enclosing_class(n: Node) -> Option<Node> {
    let mut cur = n.parent();
    while let Some(p) = cur {
        if p.kind() == "class_definition" {
            return Some(p);
        }
        cur = p.parent();
    }
    None
}

/// Placeholder written at each hole before parsing (an identifier, so the
/// keyword argument around a hole parses).
const PLACEHOLDER: &str = "__refactor_hole__";

/// For each hole offset of a rewritten Python text (holes empty at their
/// offsets), the parameter names its keyword argument may take, or `None`
/// when the hole is not a keyword's name or its callee is not defined in `defs`.
/// `enabled[i]` false skips hole `i` (`candidates: off`).
pub fn for_file(
    text: &str,
    offsets: &[usize],
    enabled: &[bool],
    defs: &DefIndex,
) -> Vec<Option<Candidates>> {
    let mut out = vec![None; offsets.len()];
    if defs.is_empty() || !enabled.iter().any(|&e| e) {
        return out;
    }
    // The text with a placeholder at every hole, and each hole's placeholder range.
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| (offsets[i], i));
    let mut marked = String::with_capacity(text.len() + offsets.len() * PLACEHOLDER.len());
    let mut at = vec![0usize; offsets.len()];
    let mut cur = 0;
    for &i in &order {
        let o = offsets[i].min(text.len());
        if o < cur || !text.is_char_boundary(o) {
            continue;
        }
        marked.push_str(&text[cur..o]);
        at[i] = marked.len();
        marked.push_str(PLACEHOLDER);
        cur = o;
    }
    marked.push_str(&text[cur..]);
    let tree = Lang::Python.parse(&marked);
    for (i, slot) in out.iter_mut().enumerate() {
        if !enabled[i] || marked.get(at[i]..at[i] + PLACEHOLDER.len()) != Some(PLACEHOLDER) {
            continue;
        }
        let range = at[i]..at[i] + PLACEHOLDER.len();
        let Some(node) = tree
            .root_node()
            .descendant_for_byte_range(range.start, range.end)
            .filter(|n| n.kind() == "identifier" && n.byte_range() == range)
        else {
            continue;
        };
        *slot =
            kwarg_candidates(node, &marked, defs).or_else(|| type_candidates(node, &marked, defs));
    }
    out
}

/// The candidates of a hole that is a whole annotation: the annotations the walked
/// code writes for a parameter of the same name (`verify: $?TYPE` takes the types
/// written for `verify` elsewhere), or for the return of a function of the same
/// name (`def close(self) -> $?RET`). The set is open: free decoding competes.
fn type_candidates(hole: Node, text: &str, defs: &DefIndex) -> Option<Candidates> {
    let ty = hole.parent().filter(|p| p.kind() == "type")?;
    if ty.named_child_count() != 1 {
        return None;
    }
    let owner = ty.parent()?;
    let of = match owner.kind() {
        "typed_parameter" | "typed_default_parameter" => {
            let (name, t) = typed_param_name(owner)?;
            (t == ty).then_some(())?;
            AnnotationOf::Param(node_text(name, text).to_string())
        }
        "function_definition" => {
            (owner.child_by_field_name("return_type")? == ty).then_some(())?;
            AnnotationOf::Return(node_text(owner.child_by_field_name("name")?, text).to_string())
        }
        _ => return None,
    };
    let (texts, counts): (Vec<String>, Vec<usize>) = defs
        .annotations(&of)
        .into_iter()
        .filter(|(t, _)| !t.contains(PLACEHOLDER))
        .unzip();
    (!texts.is_empty()).then_some(Candidates {
        texts,
        closed: false,
        exclusive: None,
        counts,
    })
}

/// The candidates of the identifier `name` when it is the name of a keyword
/// argument of a call whose callee `defs` knows.
fn kwarg_candidates(name: Node, text: &str, defs: &DefIndex) -> Option<Candidates> {
    let kw = name.parent().filter(|p| p.kind() == "keyword_argument")?;
    if kw.child_by_field_name("name")? != name {
        return None;
    }
    let args = kw.parent().filter(|p| p.kind() == "argument_list")?;
    let call = args.parent().filter(|c| c.kind() == "call")?;
    let f = call.child_by_field_name("function")?;
    let callee = callee_name(call, text)?;
    let super_init = is_super_init(f, text);
    let sigs = if super_init {
        // `super().__init__(...)`: the bases of the enclosing class.
        let class = enclosing_class(call)?;
        let bases = base_names(class, text);
        let mut sigs = Vec::new();
        for b in &bases {
            let found = defs.resolve(b);
            if found.is_empty() {
                return None;
            }
            sigs.extend(found);
        }
        sigs
    } else {
        defs.resolve(callee)
    };
    if sigs.is_empty() {
        return None;
    }
    // What the call already passes: positional arguments before the hole's
    // keyword (unknown count after `*x`) and other keywords.
    let mut positional = 0usize;
    let mut splat = false;
    let mut passed: BTreeSet<&str> = BTreeSet::new();
    let mut c = args.walk();
    for a in args.named_children(&mut c) {
        match a.kind() {
            "keyword_argument" => {
                if let Some(n) = a.child_by_field_name("name").filter(|n| *n != name) {
                    passed.insert(node_text(n, text));
                }
            }
            "list_splat" => splat = true,
            "dictionary_splat" | "comment" => {}
            _ => positional += 1,
        }
    }
    let mut names: Vec<String> = Vec::new();
    let mut open = false;
    for sig in &sigs {
        open |= sig.open;
        let skip = if splat {
            0
        } else {
            positional.saturating_sub(sig.positional_only)
        };
        for n in sig.positional.iter().skip(skip).chain(&sig.keyword_only) {
            if n != PLACEHOLDER && !passed.contains(n.as_str()) && !names.contains(n) {
                names.push(n.clone());
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    // How often the code's other calls of this callee pass each name; a
    // `super().__init__` call has no callee name to count by.
    let counts = names
        .iter()
        .map(|n| {
            if super_init {
                0
            } else {
                defs.keyword_count(callee, n)
            }
        })
        .collect();
    Some(Candidates {
        texts: names,
        closed: !open,
        exclusive: Some(args.start_byte()),
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_holes_take_the_annotations_written_for_the_same_name() {
        let defs = DefIndex::build([
            "def a(verify: bool = True): pass\n\
             def b(self, verify: ssl.SSLContext  |  str | bool = True, *args: int): pass\n\
             def c(verify: bool, timeout: float) -> None: pass\n\
             class S:\n    def close(self) -> None: pass\n\
             class T:\n    def close(self) -> Optional[int]: pass\n    def close(self) -> None: pass\n",
        ]);
        // holes: `verify: _` (parameter), `-> _` (return), a default value, a call argument
        let text =
            "def d(verify: , x=1) -> :\n    pass\ndef close(self) -> :\n    y = \n    f(verify=)\n";
        let offsets = [
            text.find("verify: ").unwrap() + 8,
            text.find("-> :").unwrap() + 3,
            text.rfind("-> :").unwrap() + 3,
            text.find("y = ").unwrap() + 4,
            text.find("verify=)").unwrap() + 7,
        ];
        let got = for_file(text, &offsets, &[true; 5], &defs);
        let texts = |i: usize| {
            got[i]
                .as_ref()
                .map(|c| (c.texts.clone(), c.closed, c.exclusive))
        };
        // most often written first, whitespace collapsed; open sets, never exclusive
        assert_eq!(
            texts(0),
            Some((
                vec!["bool".into(), "ssl.SSLContext | str | bool".into()],
                false,
                None
            ))
        );
        // `d` returns nothing the code annotates elsewhere
        assert_eq!(texts(1), None);
        assert_eq!(
            texts(2),
            Some((vec!["None".into(), "Optional[int]".into()], false, None))
        );
        assert_eq!(texts(3), None);
        assert_eq!(
            texts(4),
            None,
            "a keyword of an unknown callee is no type hole"
        );
        // `*args: int` annotates the elements: not offered for a parameter `args`
        assert!(defs
            .annotations(&AnnotationOf::Param("args".into()))
            .is_empty());
        assert_eq!(
            defs.annotations(&AnnotationOf::Param("timeout".into())),
            vec![("float".to_string(), 1)]
        );
        // how often each is written goes with it (the ranker's prior)
        assert_eq!(got[0].as_ref().unwrap().counts, vec![2, 1]);
        assert_eq!(got[2].as_ref().unwrap().counts, vec![2, 1]);
    }

    #[test]
    fn only_a_methods_first_cls_or_self_is_implicit() {
        let text = "def make(cls, attrs, frozen): pass\n\
                    class K:\n    def m(self, a): pass\n    @classmethod\n    def c(cls, b): pass\n";
        assert_eq!(sig(text, "make").positional, vec!["cls", "attrs", "frozen"]);
        assert_eq!(sig(text, "m").positional, vec!["a"]);
        assert_eq!(sig(text, "c").positional, vec!["b"]);
    }

    #[test]
    fn keyword_candidates_count_how_often_the_callee_takes_each_name() {
        let defs = DefIndex::build(["def f(a, b=1, c=2): pass
             class C:
    def __init__(self, x=0):
        super().__init__(b=2)
             f(1, c=3)
obj.f(0, c=4, b=5)
f(a=1, c=1)
g(b=1)
"]);
        assert_eq!(defs.keyword_count("f", "c"), 3);
        assert_eq!(defs.keyword_count("f", "b"), 1);
        assert_eq!(defs.keyword_count("f", "a"), 1);
        assert_eq!(defs.keyword_count("g", "b"), 1);
        assert_eq!(
            defs.keyword_count("__init__", "b"),
            0,
            "super().__init__ is not counted"
        );
        let text = "f(0, =9)
";
        let got = for_file(text, &[5], &[true], &defs);
        let c = got[0].as_ref().unwrap();
        assert_eq!(c.texts, vec!["b", "c"]);
        assert_eq!(c.counts, vec![1, 3]);
    }

    fn sig(text: &str, name: &str) -> Signature {
        file_defs(text)
            .defs
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
            .unwrap()
    }

    #[test]
    fn parameters_as_a_call_sees_them() {
        let s = sig(
            "def f(self, a, /, b, c: int = 1, *args, d, e: str = '', **kw): pass\n",
            "f",
        );
        assert_eq!(s.positional, vec!["b", "c"]);
        assert_eq!(s.keyword_only, vec!["d", "e"]);
        assert!(s.open);
        let s = sig("def g(x, *, y=2): pass\n", "g");
        assert_eq!(
            (s.positional, s.keyword_only),
            (vec!["x".into()], vec!["y".to_string()])
        );
        assert!(!s.open);
    }

    #[test]
    fn a_class_is_its_init() {
        let text = "class C:\n    x: int = 1\n    def __init__(self, a, b=2):\n        pass\n\nclass D:\n    x: int\n    _y: str = ''\n";
        assert_eq!(sig(text, "C").positional, vec!["a", "b"]);
        let d = DefIndex::build([text]).resolve("D");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].positional, vec!["x", "y"]);
        assert!(!d[0].open);
    }

    #[test]
    fn a_class_without_init_takes_its_bases_init() {
        let text = "class Base:\n    def __init__(self, content, status=200): pass\n\n\
                    class Plain(Base, metaclass=M):\n    media = 'text'\n\n\
                    class Deeper(mod.Plain):\n    pass\n\n\
                    class Err(Exception):\n    pass\n\nclass Empty:\n    pass\n";
        let idx = DefIndex::build([text]);
        for name in ["Plain", "Deeper"] {
            let r = idx.resolve(name);
            assert_eq!(r.len(), 1, "{name}");
            assert_eq!(r[0].positional, vec!["content", "status"], "{name}");
            assert!(!r[0].open, "{name}");
        }
        // a base outside the code: anything goes
        assert!(idx.resolve("Err")[0].open);
        // no base, no __init__: object() takes nothing
        let e = idx.resolve("Empty");
        assert!(e[0].positional.is_empty() && !e[0].open);
    }

    #[test]
    fn keyword_hole_gets_the_callees_parameters() {
        let defs = DefIndex::build(["def f(a, b, *, c=1, d=2): pass\n"]);
        let text = "f(1, =2, d=3)\nobj.f(=1)\ng(=1)\nx = \n";
        let offsets = [5, 20, 26, 34];
        let got = for_file(text, &offsets, &[true; 4], &defs);
        let texts: Vec<Option<Vec<String>>> = got
            .iter()
            .map(|c| c.as_ref().map(|c| c.texts.clone()))
            .collect();
        assert_eq!(texts[0], Some(vec!["b".into(), "c".into()]));
        assert_eq!(
            texts[1],
            Some(vec!["a".into(), "b".into(), "c".into(), "d".into()])
        );
        assert_eq!(texts[2], None);
        assert_eq!(texts[3], None);
        assert!(got[0].as_ref().unwrap().closed);
        assert_eq!(for_file(text, &offsets, &[false; 4], &defs), vec![None; 4]);
    }

    /// `fixtures/candidates/pkg`: the keyword names of app.py's calls, each taken
    /// out in turn, against the definitions of widgets.py.
    #[test]
    fn candidates_on_the_fixture_package() {
        let widgets = include_str!("../fixtures/candidates/pkg/widgets.py");
        let app = include_str!("../fixtures/candidates/pkg/app.py");
        let defs = DefIndex::build([widgets, app]);
        let at = |kw: &str| -> Option<Candidates> {
            let o = app.find(kw).expect("keyword in app.py");
            let text = format!("{}{}", &app[..o], &app[o + kw.len() - 1..]);
            for_file(&text, &[o], &[true], &defs).remove(0)
        };
        // Widget("box", hidden=True): `name` is filled by position, `hidden` is
        // keyword-only
        let c = at("hidden=").unwrap();
        assert_eq!((c.texts, c.closed), (vec!["hidden".to_string()], true));
        // configure(box, width=3, height=4): `box` fills the positional-only `widget`;
        // `height` is passed; `**options` keeps the set open
        let c = at("width=").unwrap();
        assert_eq!((c.texts, c.closed), (vec!["width".to_string()], false));
        let c = at("height=").unwrap();
        assert_eq!((c.texts, c.closed), (vec!["height".to_string()], false));
        // Panel inherits Widget's __init__ and adds its annotated fields
        let p = defs.resolve("Panel");
        assert_eq!(p[0].positional, vec!["name", "title", "border"]);
        assert_eq!(p[0].keyword_only, vec!["hidden"]);
        assert!(!p[0].open);
    }

    #[test]
    fn super_init_takes_the_bases_parameters() {
        let defs = DefIndex::build([
            "class Base:\n    def __init__(self, content, status=200): pass\n",
            "def __init__(self, unrelated): pass\n",
        ]);
        let text =
            "class Child(Base):\n    def __init__(self):\n        super().__init__(b'', =1)\n";
        let at = text.find("=1").unwrap();
        let got = for_file(text, &[at], &[true], &defs);
        assert_eq!(got[0].as_ref().unwrap().texts, vec!["status".to_string()]);
    }
}
