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

/// Bindings in insertion order, and the nodes relational rules matched
/// (ast-grep's "secondary" labels). Rollback is by length: a failed branch
/// of a rule truncates both back to the snapshot it started from.
#[derive(Clone, Debug, Default)]
pub struct Env<'t> {
    vars: Vec<(String, Binding<'t>)>,
    labels: Vec<Node<'t>>,
}

/// Where an [`Env`] stood; see [`Env::rollback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    vars: usize,
    labels: usize,
}

impl<'t> Env<'t> {
    pub fn new() -> Self {
        Env::default()
    }

    pub fn snapshot(&self) -> Mark {
        Mark {
            vars: self.vars.len(),
            labels: self.labels.len(),
        }
    }

    pub fn rollback(&mut self, snapshot: Mark) {
        self.vars.truncate(snapshot.vars);
        self.labels.truncate(snapshot.labels);
    }

    /// Records a node an `inside`/`has`/`precedes`/`follows` rule matched,
    /// after the labels its own sub-rules recorded (ast-grep's order).
    pub fn add_label(&mut self, node: Node<'t>) {
        self.labels.push(node);
    }

    /// The labels recorded since `mark`.
    pub fn labels_since(&self, mark: Mark) -> &[Node<'t>] {
        &self.labels[mark.labels.min(self.labels.len())..]
    }

    /// The nodes relational rules matched, in the order they were found:
    /// ast-grep's secondary labels of a match.
    pub fn labels(&self) -> &[Node<'t>] {
        &self.labels
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
