//! `src/matcher/kind_keywords.rs` is what the grammars say: for each named
//! node kind, the keywords every node of that kind spells in the file.
//! The table is recomputed here from each grammar crate's `grammar.json`
//! (in cargo's registry, at the version `Cargo.lock` pins) and compared
//! with the committed one; `REFACTOR_BLESS=1 cargo test --test
//! kind_keywords` rewrites it after a grammar update.
//!
//! What a node requires, `req`, is computed over the grammar's rules as
//! the greatest fixpoint of: a string token that is a keyword (lexed as a
//! whole word through the grammar's `word` token) requires itself; a
//! sequence requires what any of its parts requires; a choice what all of
//! its branches require; a repetition of zero or more nothing; a symbol
//! what its rule requires (an external token nothing); a `token(...)`
//! nothing (its strings are not tokens of their own). A node kind requires
//! what its rule requires and what every rule aliased to it requires.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The languages whose keywords are whole words (the prefilter's word
/// boundaries), their grammar crates and where `grammar.json` lies in them.
const GRAMMARS: &[(&str, &str, &str)] = &[
    ("GO", "tree-sitter-go", "src/grammar.json"),
    ("JAVA", "tree-sitter-java", "src/grammar.json"),
    ("JAVASCRIPT", "tree-sitter-javascript", "src/grammar.json"),
    ("PYTHON", "tree-sitter-python", "src/grammar.json"),
    ("RUST", "tree-sitter-rust", "src/grammar.json"),
    ("TSX", "tree-sitter-typescript", "tsx/src/grammar.json"),
    (
        "TYPESCRIPT",
        "tree-sitter-typescript",
        "typescript/src/grammar.json",
    ),
];

/// A requirement: `None` is "everything" (the fixpoint's start).
type Req = Option<BTreeSet<String>>;

fn intersect(a: Req, b: Req) -> Req {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (None, x) | (x, None) => x,
    }
}

struct Grammar<'a> {
    rules: &'a serde_json::Map<String, Value>,
    /// Whether a string is a keyword lexed as a whole word.
    keyword: Box<dyn Fn(&str) -> bool>,
}

impl Grammar<'_> {
    fn req(&self, r: &Value, known: &BTreeMap<String, Req>) -> Req {
        let members = || r["members"].as_array().expect("members").iter();
        match r["type"].as_str().expect("type") {
            "STRING" => {
                let s = r["value"].as_str().expect("value");
                Some(if (self.keyword)(s) {
                    BTreeSet::from([s.to_string()])
                } else {
                    BTreeSet::new()
                })
            }
            "SEQ" => members().try_fold(BTreeSet::new(), |mut acc, m| {
                acc.extend(self.req(m, known)?);
                Some(acc)
            }),
            "CHOICE" => members().fold(None, |acc, m| intersect(acc, self.req(m, known))),
            "REPEAT1" | "FIELD" | "ALIAS" | "PREC" | "PREC_LEFT" | "PREC_RIGHT"
            | "PREC_DYNAMIC" | "RESERVED" => self.req(&r["content"], known),
            "SYMBOL" => {
                let name = r["name"].as_str().expect("name");
                match known.get(name) {
                    Some(req) => req.clone(),
                    // An external token.
                    None => Some(BTreeSet::new()),
                }
            }
            "REPEAT" | "BLANK" | "PATTERN" | "TOKEN" | "IMMEDIATE_TOKEN" => Some(BTreeSet::new()),
            other => panic!("unknown grammar rule type {other}"),
        }
    }

    /// Every named node kind's required keywords (non-empty ones only).
    fn table(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut known: BTreeMap<String, Req> =
            self.rules.keys().map(|k| (k.clone(), None)).collect();
        loop {
            let next: BTreeMap<String, Req> = self
                .rules
                .iter()
                .map(|(k, r)| (k.clone(), self.req(r, &known)))
                .collect();
            if next == known {
                break;
            }
            known = next;
        }
        let mut kinds: BTreeMap<String, Req> = known
            .iter()
            .filter(|(k, _)| !k.starts_with('_'))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        // Rules aliased to a named kind make nodes of that kind too.
        let mut aliases = Vec::new();
        for r in self.rules.values() {
            collect_aliases(r, &mut aliases);
        }
        for (kind, content) in aliases {
            let req = self.req(content, &known);
            let entry = kinds.entry(kind).or_insert(None);
            *entry = intersect(entry.take(), req);
        }
        kinds
            .into_iter()
            .map(|(k, r)| (k, r.expect("every derivation is finite")))
            .filter(|(_, r)| !r.is_empty())
            .collect()
    }
}

fn collect_aliases<'v>(r: &'v Value, out: &mut Vec<(String, &'v Value)>) {
    match r {
        Value::Object(o) => {
            if o.get("type").and_then(Value::as_str) == Some("ALIAS")
                && o.get("named").and_then(Value::as_bool) == Some(true)
            {
                let value = o["value"].as_str().expect("alias value").to_string();
                out.push((value, &o["content"]));
            }
            for v in o.values() {
                collect_aliases(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_aliases(v, out)),
        _ => {}
    }
}

/// The version of `krate` that Cargo.lock pins.
fn locked_version(krate: &str) -> String {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{krate}\"") {
            let v = lines.next().expect("version line");
            return v
                .trim_start_matches("version = \"")
                .trim_end_matches('"')
                .to_string();
        }
    }
    panic!("{krate} is not in Cargo.lock")
}

/// Where cargo unpacked `krate`'s sources.
fn crate_dir(krate: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let name = format!("{krate}-{}", locked_version(krate));
    let src = home.join("registry").join("src");
    std::fs::read_dir(&src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
        .filter_map(|d| d.ok())
        .map(|d| d.path().join(&name))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("{name} is not unpacked under {}", src.display()))
}

fn word_regex(grammar: &Value) -> regex::Regex {
    // Keywords are the strings the `word` rule would lex whole; the word
    // rules of these grammars are identifier patterns starting with a
    // letter, `_` or `$`. Only ASCII identifiers are taken as keywords.
    assert!(
        grammar["word"].is_string(),
        "a grammar without a word token"
    );
    regex::Regex::new("^[A-Za-z_][A-Za-z0-9_]*$").expect("regex")
}

fn generate() -> String {
    let mut out = String::from(
        "//! Keywords that every node of a kind spells, by language (kinds with\n\
         //! none are left out). Generated from the grammars' `grammar.json` by\n\
         //! `REFACTOR_BLESS=1 cargo test --test kind_keywords`; do not edit.\n\
         //! `tests/kind_keywords.rs` checks that it matches the pinned grammars.\n\n\
         pub(super) type Table = &'static [(&'static str, &'static [&'static str])];\n",
    );
    for (name, krate, path) in GRAMMARS {
        let file = crate_dir(krate).join(path);
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let json: Value = serde_json::from_str(&text).expect("grammar.json");
        let words = word_regex(&json);
        let grammar = Grammar {
            rules: json["rules"].as_object().expect("rules"),
            keyword: Box::new(move |s| words.is_match(s)),
        };
        out.push_str(&format!("\npub(super) const {name}: Table = &[\n"));
        for (kind, req) in grammar.table() {
            let words: Vec<String> = req.iter().map(|w| format!("{w:?}")).collect();
            out.push_str(&format!("    ({kind:?}, &[{}]),\n", words.join(", ")));
        }
        out.push_str("];\n");
    }
    out
}

#[test]
fn the_kind_keyword_table_matches_the_grammars() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/matcher/kind_keywords.rs");
    let want = generate();
    if std::env::var_os("REFACTOR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).expect("write the table");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is not what the grammars say; rerun with REFACTOR_BLESS=1",
        path.display()
    );
}
