//! Supported languages: ast-grep's names and file extensions, the tree-sitter
//! grammar behind each, and the metavariable "expando" character a language
//! needs because `$` is not an identifier character in its grammar.

use std::fmt;
use std::path::Path;

/// One tree-sitter grammar. The names and extensions follow ast-grep so rule
/// files written for it load unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
    C,
    Cpp,
    Bash,
    CSharp,
    Css,
    Dart,
    Elixir,
    Haskell,
    Hcl,
    Html,
    Json,
    Kotlin,
    Lua,
    Markdown,
    Nix,
    Php,
    Ruby,
    Scala,
    Solidity,
    Swift,
    Yaml,
}

impl Lang {
    pub const ALL: [Lang; 28] = [
        Lang::Rust,
        Lang::Python,
        Lang::JavaScript,
        Lang::TypeScript,
        Lang::Tsx,
        Lang::Go,
        Lang::Java,
        Lang::C,
        Lang::Cpp,
        Lang::Bash,
        Lang::CSharp,
        Lang::Css,
        Lang::Dart,
        Lang::Elixir,
        Lang::Haskell,
        Lang::Hcl,
        Lang::Html,
        Lang::Json,
        Lang::Kotlin,
        Lang::Lua,
        Lang::Markdown,
        Lang::Nix,
        Lang::Php,
        Lang::Ruby,
        Lang::Scala,
        Lang::Solidity,
        Lang::Swift,
        Lang::Yaml,
    ];

    /// Parses a language name as ast-grep accepts it (case-insensitive, with
    /// its aliases).
    pub fn from_name(name: &str) -> Option<Lang> {
        let lower = name.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "rust" | "rs" => Lang::Rust,
            "python" | "py" => Lang::Python,
            "javascript" | "js" | "jsx" => Lang::JavaScript,
            "typescript" | "ts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" | "golang" => Lang::Go,
            "java" => Lang::Java,
            "c" => Lang::C,
            "cpp" | "c++" | "cc" | "cxx" => Lang::Cpp,
            "bash" => Lang::Bash,
            "csharp" | "cs" => Lang::CSharp,
            "css" => Lang::Css,
            "dart" => Lang::Dart,
            "elixir" | "ex" => Lang::Elixir,
            "haskell" | "hs" => Lang::Haskell,
            "hcl" => Lang::Hcl,
            "html" => Lang::Html,
            "json" => Lang::Json,
            "kotlin" | "kt" => Lang::Kotlin,
            "lua" => Lang::Lua,
            "markdown" | "md" => Lang::Markdown,
            "nix" => Lang::Nix,
            "php" => Lang::Php,
            "ruby" | "rb" => Lang::Ruby,
            "scala" => Lang::Scala,
            "solidity" | "sol" => Lang::Solidity,
            "swift" => Lang::Swift,
            "yaml" | "yml" => Lang::Yaml,
            _ => return None,
        })
    }

    /// The canonical name, as used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::JavaScript => "javascript",
            Lang::TypeScript => "typescript",
            Lang::Tsx => "tsx",
            Lang::Go => "go",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Cpp => "cpp",
            Lang::Bash => "bash",
            Lang::CSharp => "csharp",
            Lang::Css => "css",
            Lang::Dart => "dart",
            Lang::Elixir => "elixir",
            Lang::Haskell => "haskell",
            Lang::Hcl => "hcl",
            Lang::Html => "html",
            Lang::Json => "json",
            Lang::Kotlin => "kotlin",
            Lang::Lua => "lua",
            Lang::Markdown => "markdown",
            Lang::Nix => "nix",
            Lang::Php => "php",
            Lang::Ruby => "ruby",
            Lang::Scala => "scala",
            Lang::Solidity => "solidity",
            Lang::Swift => "swift",
            Lang::Yaml => "yaml",
        }
    }

    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &["rs"],
            Lang::Python => &["py", "py3", "pyi", "bzl", "bazel"],
            Lang::JavaScript => &["js", "mjs", "cjs", "jsx"],
            Lang::TypeScript => &["ts", "mts", "cts"],
            Lang::Tsx => &["tsx"],
            Lang::Go => &["go"],
            Lang::Java => &["java"],
            Lang::C => &["c", "h"],
            Lang::Cpp => &["cc", "hpp", "cpp", "c++", "hh", "cxx", "cu", "ino"],
            Lang::Bash => &[
                "bash", "bats", "cgi", "command", "env", "fcgi", "ksh", "sh", "tmux", "tool", "zsh",
            ],
            Lang::CSharp => &["cs"],
            Lang::Css => &["css", "scss"],
            Lang::Dart => &["dart"],
            Lang::Elixir => &["ex", "exs"],
            Lang::Haskell => &["hs"],
            Lang::Hcl => &["hcl", "nomad", "tf", "tfvars", "workflow"],
            Lang::Html => &["html", "htm", "xhtml"],
            Lang::Json => &["json"],
            Lang::Kotlin => &["kt", "ktm", "kts"],
            Lang::Lua => &["lua"],
            Lang::Markdown => &["markdown", "md"],
            Lang::Nix => &["nix"],
            Lang::Php => &["php"],
            Lang::Ruby => &["rb", "rbw", "gemspec"],
            Lang::Scala => &["scala", "sc", "sbt"],
            Lang::Solidity => &["sol"],
            Lang::Swift => &["swift"],
            Lang::Yaml => &["yaml", "yml"],
        }
    }

    /// The language a file belongs to, by extension.
    pub fn from_path(path: &Path) -> Option<Lang> {
        let ext = path.extension()?.to_str()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.extensions().iter().any(|e| e.eq_ignore_ascii_case(ext)))
    }

    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Rust => tree_sitter_rust::LANGUAGE.into(),
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
            Lang::C => tree_sitter_c::LANGUAGE.into(),
            Lang::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Lang::Bash => tree_sitter_bash::LANGUAGE.into(),
            Lang::CSharp => tree_sitter_c_sharp::LANGUAGE.into(),
            Lang::Css => tree_sitter_css::LANGUAGE.into(),
            Lang::Dart => tree_sitter_dart::LANGUAGE.into(),
            Lang::Elixir => tree_sitter_elixir::LANGUAGE.into(),
            Lang::Haskell => tree_sitter_haskell::LANGUAGE.into(),
            Lang::Hcl => tree_sitter_hcl::LANGUAGE.into(),
            Lang::Html => tree_sitter_html::LANGUAGE.into(),
            Lang::Json => tree_sitter_json::LANGUAGE.into(),
            Lang::Kotlin => tree_sitter_kotlin_sg::LANGUAGE.into(),
            Lang::Lua => tree_sitter_lua::LANGUAGE.into(),
            Lang::Markdown => tree_sitter_md::LANGUAGE.into(),
            Lang::Nix => tree_sitter_nix::LANGUAGE.into(),
            Lang::Php => tree_sitter_php::LANGUAGE_PHP_ONLY.into(),
            Lang::Ruby => tree_sitter_ruby::LANGUAGE.into(),
            Lang::Scala => tree_sitter_scala::LANGUAGE.into(),
            Lang::Solidity => tree_sitter_solidity::LANGUAGE.into(),
            Lang::Swift => tree_sitter_swift::LANGUAGE.into(),
            Lang::Yaml => tree_sitter_yaml::LANGUAGE.into(),
        }
    }

    /// The id of the named node kind `name` (`kind:`, `selector:`), or
    /// `None` when the grammar has no such kind. tree-sitter compares C
    /// strings here: a name with a NUL byte read past the end of the
    /// grammar's kind names, and every prefix of `ERROR` (even the empty
    /// name) gave the error kind. Neither is a kind.
    pub fn kind_id(self, name: &str) -> Option<u16> {
        if name.contains('\0') || (name != "ERROR" && "ERROR".starts_with(name)) {
            return None;
        }
        let id = self.grammar().id_for_node_kind(name, true);
        (id != 0).then_some(id)
    }

    /// The id of the field `name` (`field:`), or `None`; a name with a NUL
    /// byte is none (tree-sitter's lookup would read past the field names).
    pub fn field_id(self, name: &str) -> Option<u16> {
        if name.contains('\0') {
            return None;
        }
        self.grammar().field_id_for_name(name).map(|id| id.get())
    }

    /// Character that stands in for `$` in patterns, for grammars where `$`
    /// cannot start an identifier. These are ast-grep's choices, so a
    /// pattern parses into the same tree under both tools: `µ` where the
    /// grammar takes any Unicode letter, `𐀀` (U+10000) for C and C++, `_`
    /// for CSS and Nix (`$` starts interpolation in Nix), `z` for HTML.
    pub fn expando(self) -> char {
        match self {
            Lang::JavaScript
            | Lang::TypeScript
            | Lang::Tsx
            | Lang::Java
            | Lang::Bash
            | Lang::Dart
            | Lang::Json
            | Lang::Lua
            | Lang::Markdown
            | Lang::Scala
            | Lang::Solidity
            | Lang::Yaml => '$',
            Lang::Rust
            | Lang::Python
            | Lang::Go
            | Lang::CSharp
            | Lang::Elixir
            | Lang::Haskell
            | Lang::Hcl
            | Lang::Kotlin
            | Lang::Php
            | Lang::Ruby
            | Lang::Swift => 'µ',
            Lang::C | Lang::Cpp => '\u{10000}',
            Lang::Css | Lang::Nix => '_',
            Lang::Html => 'z',
        }
    }

    /// Parses source text. Parsing only fails on cancellation, which we never
    /// request, so a missing tree is a bug.
    pub fn parse(self, source: &str) -> tree_sitter::Tree {
        self.with_parser(|p| {
            p.parse(source, None)
                .expect("tree-sitter parse without cancellation")
        })
    }

    /// Parses only `ranges` of `source` (ordered, disjoint); nodes keep
    /// their positions in the whole text. `None` if tree-sitter refuses the
    /// ranges.
    pub fn parse_ranges(
        self,
        source: &str,
        ranges: &[tree_sitter::Range],
    ) -> Option<tree_sitter::Tree> {
        self.with_parser(|p| {
            p.set_included_ranges(ranges).ok()?;
            let tree = p.parse(source, None);
            // The cached parser must parse whole texts again.
            p.set_included_ranges(&[])
                .expect("an empty range list is always accepted");
            tree
        })
    }

    /// Parses `new`, a rewrite of `old` (whose tree is `tree`), reusing
    /// the subtrees the rewrite left alone. `spans`: each change, in
    /// order, as its range in `old` and the range it took in `new`.
    pub fn reparse(
        self,
        old: &str,
        tree: &tree_sitter::Tree,
        new: &str,
        spans: &[(std::ops::Range<usize>, std::ops::Range<usize>)],
    ) -> Option<tree_sitter::Tree> {
        // Positions in `old`, found in one pass over it.
        let mut rows = RowCounter::new(old);
        let points: Vec<(tree_sitter::Point, tree_sitter::Point)> = spans
            .iter()
            .map(|(was, _)| (rows.point(was.start), rows.point(was.end)))
            .collect();
        let mut edited = tree.clone();
        // From the last change back, so each edit's positions in `old`
        // still hold in the tree edited so far.
        for ((was, now), &(start_position, old_end_position)) in spans.iter().zip(&points).rev() {
            edited.edit(&tree_sitter::InputEdit {
                start_byte: was.start,
                old_end_byte: was.end,
                new_end_byte: was.start + now.len(),
                start_position,
                old_end_position,
                new_end_position: advance(start_position, &new[now.clone()]),
            });
        }
        self.with_parser(|p| p.parse(new, Some(&edited)))
    }

    /// Runs `f` with this thread's parser for the language.
    fn with_parser<R>(self, f: impl FnOnce(&mut tree_sitter::Parser) -> R) -> R {
        thread_local! {
            static PARSERS: std::cell::RefCell<Vec<(Lang, tree_sitter::Parser)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        PARSERS.with(|cell| {
            let mut parsers = cell.borrow_mut();
            let idx = match parsers.iter().position(|(l, _)| *l == self) {
                Some(i) => i,
                None => {
                    let mut p = tree_sitter::Parser::new();
                    p.set_language(&self.grammar())
                        .expect("grammar version is compatible with tree-sitter");
                    parsers.push((self, p));
                    parsers.len() - 1
                }
            };
            f(&mut parsers[idx].1)
        })
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name a call calls: `f` in `f(x)`, `obj.f(x)`, `a::f(x)`, `f::<T>(x)`.
pub fn callee_name<'t>(call: tree_sitter::Node, text: &'t str) -> Option<&'t str> {
    let mut f = call.child_by_field_name("function")?;
    loop {
        let next = match f.kind() {
            "attribute" => f.child_by_field_name("attribute"),
            "field_expression" => f.child_by_field_name("field"),
            "scoped_identifier" => f.child_by_field_name("name"),
            "generic_function" => f.child_by_field_name("function"),
            "identifier" | "field_identifier" => return text.get(f.byte_range()),
            _ => None,
        };
        f = next?;
    }
}

/// Number of ERROR and MISSING nodes in a tree: validation compares this
/// before and after a rewrite.
pub fn count_errors(tree: &tree_sitter::Tree) -> usize {
    let mut cursor = tree.walk();
    let mut count = 0;
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return count;
            }
        }
    }
}

/// Rows and byte columns of increasing offsets in a text, counted in one
/// pass.
struct RowCounter<'a> {
    text: &'a [u8],
    at: usize,
    row: usize,
    line_start: usize,
}

impl<'a> RowCounter<'a> {
    fn new(text: &'a str) -> Self {
        RowCounter {
            text: text.as_bytes(),
            at: 0,
            row: 0,
            line_start: 0,
        }
    }

    /// The position of `offset` (not below the last one asked).
    fn point(&mut self, offset: usize) -> tree_sitter::Point {
        for i in memchr::memchr_iter(b'\n', &self.text[self.at..offset]) {
            self.row += 1;
            self.line_start = self.at + i + 1;
        }
        self.at = offset;
        tree_sitter::Point::new(self.row, offset - self.line_start)
    }
}

/// `at` moved past `inserted`.
fn advance(at: tree_sitter::Point, inserted: &str) -> tree_sitter::Point {
    let rows = memchr::memchr_iter(b'\n', inserted.as_bytes()).count();
    match memchr::memrchr(b'\n', inserted.as_bytes()) {
        Some(i) => tree_sitter::Point::new(at.row + rows, inserted.len() - i - 1),
        None => tree_sitter::Point::new(at.row, at.column + inserted.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_extensions_are_unambiguous() {
        let mut seen = std::collections::HashMap::new();
        for lang in Lang::ALL {
            assert_eq!(Lang::from_name(lang.name()), Some(lang));
            for ext in lang.extensions() {
                assert_eq!(seen.insert(*ext, lang), None, "`.{ext}` claimed twice");
                let file = format!("f.{ext}");
                assert_eq!(Lang::from_path(Path::new(&file)), Some(lang));
            }
        }
    }

    #[test]
    fn every_grammar_loads_and_parses() {
        for lang in Lang::ALL {
            // set_language fails (and parse panics) when a grammar's ABI is
            // newer than the tree-sitter library's.
            let tree = lang.parse("x");
            assert_eq!(tree.root_node().end_byte(), 1, "{lang}");
        }
    }
}
