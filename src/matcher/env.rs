//! Metavariable bindings collected while a rule matches one node.

use tree_sitter::Node;

/// What a metavariable captured.
#[derive(Clone, Debug)]
pub enum Binding<'t> {
    /// `$A`: one node.
    Single(Node<'t>),
    /// `$$$A`: zero or more sibling nodes (separators included, as ast-grep).
    Multi(Vec<Node<'t>>),
}

/// Bindings in insertion order. Rollback is by length: a failed branch of a
/// rule truncates back to the snapshot it started from.
#[derive(Clone, Debug, Default)]
pub struct Env<'t> {
    vars: Vec<(String, Binding<'t>)>,
}

impl<'t> Env<'t> {
    pub fn new() -> Self {
        Env { vars: Vec::new() }
    }

    pub fn snapshot(&self) -> usize {
        self.vars.len()
    }

    pub fn rollback(&mut self, snapshot: usize) {
        self.vars.truncate(snapshot);
    }

    pub fn get(&self, name: &str) -> Option<&Binding<'t>> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b)
    }

    pub fn insert(&mut self, name: &str, binding: Binding<'t>) {
        self.vars.push((name.to_string(), binding));
    }

    /// The source text a binding stands for: a node's text, or the span from
    /// the first to the last node of a multi-binding.
    pub fn text<'s>(&self, name: &str, source: &'s str) -> Option<&'s str> {
        match self.get(name)? {
            Binding::Single(n) => Some(&source[n.byte_range()]),
            Binding::Multi(nodes) => match (nodes.first(), nodes.last()) {
                (Some(a), Some(b)) => Some(&source[a.start_byte()..b.end_byte()]),
                _ => Some(""),
            },
        }
    }
}
