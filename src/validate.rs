//! Stage 5 helpers: checks on rewritten text. (The error-count comparison
//! itself lives in `pipeline::finalize`, which owns the retry policy.)

use std::ops::Range;

/// Whether some node spanning exactly `range` has kind `kind` (a hole's
/// `kind:` constraint: the fill must parse as that node in place).
pub fn has_node_of_kind(tree: &tree_sitter::Tree, range: Range<usize>, kind: u16) -> bool {
    if range.is_empty() {
        return false;
    }
    let Some(mut node) = tree
        .root_node()
        .descendant_for_byte_range(range.start, range.end)
    else {
        return false;
    };
    // Smallest node covering the range; it and its same-span ancestors
    // are the candidates.
    loop {
        if node.byte_range() == range && node.kind_id() == kind {
            return true;
        }
        match node.parent() {
            Some(p) if p.byte_range() == range => node = p,
            _ => break,
        }
    }
    // A fill may also be exactly one child of the smallest covering node.
    let mut cursor = node.walk();
    let found = node
        .children(&mut cursor)
        .any(|c| c.byte_range() == range && c.kind_id() == kind);
    found
}

/// Byte ranges of the ERROR and MISSING nodes of `tree` (a MISSING node is
/// empty: the place where the parser expected a token).
pub fn error_ranges(tree: &tree_sitter::Tree) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            out.push(node.byte_range());
        }
        if node.has_error() && !node.is_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// Python's builtin names (3.11, plus the exception names of later versions): a type
/// fill may use them without an import.
const PYTHON_BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "PythonFinalizationError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "ZeroDivisionError",
    "__debug__",
    "__name__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

/// For each filled hole `fills[i]` with `check[i]` set, the first name its Python type
/// fill uses that nothing in its file spells: not a builtin, and not written as a name
/// anywhere in the file's code outside `fills` (the byte ranges of every filled hole).
/// A name the file defines, imports or uses elsewhere passes; so does every name when
/// the file has a star import (`from m import *`), which can bind anything. Only the
/// root of a dotted name is looked up (`t` of `t.Optional`), and names inside string
/// annotations are not. One walk of the tree serves every hole.
///
/// Why: evaluated at definition time (or by a type checker), an annotation naming
/// something the module never binds is a `NameError`, and on held-out code such
/// fills are wrong far more often than confident fills overall (invented classes,
/// `typing` names the file does not import).
pub fn python_unbound_names<'t>(
    tree: &tree_sitter::Tree,
    text: &'t str,
    fills: &[Range<usize>],
    check: &[bool],
) -> Vec<(usize, &'t str)> {
    let holding = |r: &Range<usize>| {
        fills
            .iter()
            .position(|f| f.start <= r.start && r.end <= f.end)
    };
    let mut roots: Vec<(usize, &str)> = Vec::new();
    let mut spelled: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        match node.kind() {
            "wildcard_import" => return Vec::new(),
            "identifier" => {
                let r = node.byte_range();
                match holding(&r) {
                    None => {
                        spelled.insert(&text[r]);
                    }
                    Some(i) if check[i] => {
                        let member = node.parent().is_some_and(|p| {
                            p.kind() == "attribute"
                                && p.child_by_field_name("attribute").map(|a| a.id())
                                    == Some(node.id())
                        });
                        if !member {
                            roots.push((i, &text[r]));
                        }
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
        // String contents never hold identifier nodes: no need to enter strings.
        if node.kind() != "string" && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                let mut out: Vec<(usize, &str)> = Vec::new();
                for (i, n) in roots {
                    if !spelled.contains(n)
                        && !PYTHON_BUILTINS.contains(&n)
                        && !out.iter().any(|(j, _)| *j == i)
                    {
                        out.push((i, n));
                    }
                }
                return out;
            }
        }
    }
}
