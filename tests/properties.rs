//! Property tests for the rule loader, the pattern compiler and the fix
//! renderer: small, deterministic (a fixed-seed xorshift generator), part of
//! plain `cargo test`. The same entry points back the `cargo fuzz` targets
//! (`fuzz/harness.rs`); the inputs those found are replayed at the end.

#[allow(dead_code)]
#[path = "../fuzz/harness.rs"]
mod harness;

use refactor::lang::Lang;
use refactor::matcher::{Pattern, PatternError, Strictness};
use refactor::pipeline::{finalize, scan_file, ScanAt, StageClock};
use refactor::rule::load::{is_test_file, load_one, load_rules, split_documents};
use refactor::walk::SourceFile;
use std::path::{Path, PathBuf};

/// xorshift64*: tiny, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped rule files (tests excluded), as bytes.
fn shipped_rules() -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(root().join("rules"))
        .sort_by_file_name()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml") && !is_test_file(p))
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read rule");
            (p, bytes)
        })
        .collect();
    let langs = root().join("fixtures/langs/rules.yml");
    out.push((langs.clone(), std::fs::read(&langs).expect("read rule")));
    assert!(out.len() > 10, "rules/ should hold the shipped rules");
    out
}

#[rustfmt::skip]
const YAML_BITS: &[&str] = &[
    ":", " ", "-", "- ", "\n", "  ", "\t", "{", "}", "[", "]", "'", "\"", "|", ">", "&a ", "*a",
    "!!str ", "~", "null", "#", "---\n", "$", "$$$", "$?", "µ", "é", "\\", "99999999999999999999",
    "-1", "pattern: ", "kind: ", "inside:\n", "  has: {kind: identifier}\n", "fix: ", "all: [",
    "\r\n", "\0",
];

#[rustfmt::skip]
const YAML_VALUES: &[&str] = &[
    "0", "-1", "33", "1.5", "-0.5", "NaN", "99999999999999999999", "''", "\"\"", "[]", "{}",
    "null", "~", "true", "$A", "$$$", "$?H", "'$A + $B'", "[a, b]", "{kind: identifier}",
    "{pattern: $X}", "end", "neighbor", "2n+1", "-n+3", "odd", "'('", "'[a-'", "a.b",
    "identifier", "'**/*.py'", "'['", "{matches: u}", "{not: {}}", "{position: 0}", "µ", "é",
];

#[rustfmt::skip]
const YAML_KEYS: &[&str] = &[
    "id", "language", "rule", "pattern", "kind", "regex", "inside", "has", "not", "all", "any",
    "fix", "holes", "max_tokens", "min_confidence", "tie", "candidates", "stopBy", "field",
    "nthChild", "range",
    "constraints", "transform", "utils", "matches", "severity", "message", "files", "ignores",
    "context", "selector", "strictness", "expandEnd", "template", "follows",
];

/// One random change: a bit flip, an interesting byte or string, a
/// truncation, a duplicated, dropped or swapped line, or a key or value
/// replaced by another one that YAML rules use.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match rng.below(10) {
        7..=9 => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<String> = text.split_inclusive('\n').map(String::from).collect();
            let keyed: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(':'))
                .collect();
            if keyed.is_empty() {
                return;
            }
            let i = rng.pick(&keyed);
            let line = &lines[i];
            let colon = line.find(':').expect("keyed line");
            let (key, value) = line.split_at(colon);
            let indent = &key[..key.len() - key.trim_start().len()];
            let dash = if key.trim_start().starts_with("- ") {
                "- "
            } else {
                ""
            };
            lines[i] = if rng.chance(3) {
                format!("{indent}{dash}{}{value}", rng.pick(YAML_KEYS))
            } else {
                format!("{key}: {}\n", rng.pick(YAML_VALUES))
            };
            *bytes = lines.concat().into_bytes();
        }
        0 if len > 0 => {
            let i = rng.below(len);
            bytes[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            bytes[i] = rng.pick(b":- \n\t{}[]'\"|>&*!#$%@`,?");
        }
        2 => {
            let i = rng.below(len + 1);
            let s = rng.pick(YAML_BITS).as_bytes();
            bytes.splice(i..i, s.iter().copied());
        }
        3 => bytes.truncate(rng.below(len + 1)),
        _ => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return;
            }
            let i = rng.below(lines.len());
            let j = rng.below(lines.len());
            match rng.below(3) {
                0 => lines.insert(j, lines[i]),
                1 => {
                    lines.remove(i);
                }
                _ => lines.swap(i, j),
            }
            *bytes = lines.concat().into_bytes();
        }
    }
}

/// (a) The loader never panics on mutated shipped rules: each document loads
/// (and then runs over a real file without panicking) or fails with an
/// error that reads `path:line: message`, the line inside the file. Every
/// tenth mutant also goes through `load_rules` from a real file, so bytes
/// that are not UTF-8 are covered too.
#[test]
fn loader_survives_mutated_rules() {
    const ROUNDS: usize = 1500;
    let rules = shipped_rules();
    let mut rng = Rng::new(0x5eed_0001);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut loaded, mut refused, mut documents) = (0, 0, 0);
    for round in 0..ROUNDS {
        let (path, original) = &rules[rng.below(rules.len())];
        let mut bytes = original.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut bytes);
        }
        let shown = String::from_utf8_lossy(&bytes).into_owned();
        let run = std::panic::catch_unwind(|| harness::rule_loader(&bytes));
        match run {
            Ok(n) => documents += n,
            Err(_) => panic!(
                "round {round}: mutant of {} panicked:\n{shown}",
                path.display()
            ),
        }
        if round % 10 == 0 {
            let file = dir.path().join(format!("r{round}.yml"));
            std::fs::write(&file, &bytes).expect("write mutant");
            match load_rules(std::slice::from_ref(&file)) {
                Ok(_) => loaded += 1,
                Err(e) => {
                    refused += 1;
                    let prefix = format!("{}:{}: ", file.display(), e.line);
                    assert!(
                        e.to_string().starts_with(&prefix) && e.line >= 1,
                        "round {round}: error `{e}` for:\n{shown}"
                    );
                }
            }
        }
    }
    // Both outcomes must occur, or the mutations are too weak or too strong.
    assert!(
        loaded > 0 && refused > 0 && documents > ROUNDS / 4,
        "files: {loaded} loaded, {refused} refused; {documents} documents loaded"
    );
}

/// (a, systematically) Each value of each shipped rule replaced by a dozen
/// of `YAML_VALUES` (a fixed sample per line, every value used): the loader
/// loads the document or says `path:line: why`.
#[test]
fn loader_survives_value_substitutions() {
    let mut rng = Rng::new(0x5eed_0005);
    let mut cases = 0;
    let mut used = vec![false; YAML_VALUES.len()];
    for (path, original) in shipped_rules() {
        let text = String::from_utf8(original).expect("shipped rules are UTF-8");
        for (_, doc) in split_documents(&text) {
            let lines: Vec<&str> = doc.split_inclusive('\n').collect();
            for (i, line) in lines.iter().enumerate() {
                let Some(colon) = line.find(':') else {
                    continue;
                };
                for _ in 0..12 {
                    let v = rng.below(YAML_VALUES.len());
                    used[v] = true;
                    let mut mutant: Vec<&str> = lines.clone();
                    let changed = format!("{}: {}\n", &line[..colon], YAML_VALUES[v]);
                    mutant[i] = &changed;
                    let mutant = mutant.concat();
                    let run = std::panic::catch_unwind(|| harness::rule_loader(mutant.as_bytes()));
                    assert!(run.is_ok(), "{}: {mutant}", path.display());
                    cases += 1;
                }
            }
        }
    }
    assert!(
        cases > 1000 && used.iter().all(|&u| u),
        "{cases} substitutions"
    );
}

#[rustfmt::skip]
const COMMON_TOKENS: &[&str] = &[
    "a", "foo", "x1", "_", "$A", "$B", "$$C", "$$$D", "$$$", "$_", "$_X", "$", "$$", "$a", "$A1",
    "µA", "1", "0x1f", "1.5", "\"s\"", "'c'", "\"é\"", "`t`", "(", ")", "[", "]", "{", "}", ",",
    ";", ".", ":", "::", "->", "=>", "=", "==", "!=", "+", "-", "*", "/", "%", "<", ">", "<=",
    "&&", "||", "!", "?", "&", "|", "^", "~", "<<", "@", "#", "\\", "'", "\"", "/*", "*/", "//",
    "\u{0}",
];

fn keywords(lang: Lang) -> Vec<&'static str> {
    let words = match lang {
        Lang::Rust => "fn let mut impl match struct if else return 'a vec! unsafe",
        Lang::Python => "def class if else: elif lambda return for in not is None pass async",
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            "function var let const if else return class => new await <div> </div> any interface type"
        }
        Lang::Go => "func package var := if return go chan struct type interface range",
        Lang::Java => "class public static void int new return if @Override this extends String",
        Lang::C | Lang::Cpp => {
            "int char * #include #define struct return if sizeof template <typename :: NULL ->"
        }
        Lang::Bash => "if then fi echo $1 ${x} | && ; function local case esac",
        Lang::CSharp => "class public static void int new return if null is namespace var",
        Lang::Css => "{ } : ; #fff 0px @media !important calc var --x .a",
        Lang::Dart => "class void int final var return if new List<int> => async",
        Lang::Elixir => "defmodule def do end |> fn -> :atom Enum case",
        Lang::Haskell => "module where let in do :: -> <- $ case of data",
        Lang::Hcl => "resource variable = { } [ ] ${ } var. for in",
        Lang::Html => "<div> </div> <b> </b> <!-- --> class= <a href= />",
        Lang::Json => "{ } [ ] : , true false null \"k\" 1.5",
        Lang::Kotlin => "fun val var class return if when it -> ?. !! object",
        Lang::Lua => "local function end return if then require table. .. nil",
        Lang::Markdown => "# ## ``` * - > [a](b) _x_ **y**",
        Lang::Nix => "let in with rec inherit { } ; = : stdenv. import",
        Lang::Php => "<?php function return array isset echo $x -> :: new class",
        Lang::Ruby => "def end class do |x| nil? if unless @x :sym =>",
        Lang::Scala => "object def val var class => case match extends Int",
        Lang::Solidity => "contract function public uint require returns address emit mapping",
        Lang::Swift => "func let var guard else return if class -> ?? struct",
        Lang::Yaml => "- key: value | > --- [ ] { } &a *a",
    };
    words.split(' ').collect()
}

/// Patterns that compile, split into tokens, as starting points for soups.
fn seeds(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Rust => &[
            "$X . len ( ) == 0",
            "$A . map ( $F ) . unwrap_or ( $D )",
            "format ! ( $$$ARGS )",
            "let $P = $E ;",
            "fn $N ( $$$P ) { $$$B }",
        ],
        Lang::Python => &[
            "$X == None",
            "not $A in $B",
            "super ( $C , self )",
            "def $F ( $$$P ) : $$$B",
            "{ $X for $Y in $Z }",
        ],
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => &[
            "var $$$D",
            "$A == $B",
            "$F ( $$$ARGS )",
            "function $N ( $$$P ) { $$$B }",
            "const $X : any = $V",
        ],
        Lang::Go => &[
            "errors . New ( fmt . Sprintf ( $$$A ) )",
            "$A == $B",
            "func $N ( $$$P ) error { $$$B }",
            "if $C { $$$B }",
        ],
        Lang::Java => &[
            "$S . length ( ) == 0",
            "$A . equals ( $B )",
            "return $X ;",
            "new $T ( $$$A )",
        ],
        Lang::C | Lang::Cpp => &["$P == NULL", "return $X ;", "$F ( $$$A )", "sizeof ( $T )"],
        Lang::Bash => &["which $CMD", "echo $$$A"],
        Lang::CSharp => &["$X == null", "return $X ;"],
        Lang::Css => &["a { color : $C ; }", ".$X { }", "$S { $$$B }"],
        Lang::Dart => &[
            "bool f ( ) { return $X . length == 0 ; }",
            "class $C { $$$B }",
            "void $F ( ) { $$$B }",
            "import $S ;",
        ],
        Lang::Elixir => &["Enum . count ( $L ) == 0", "$A |> $F"],
        Lang::Haskell => &["mapM_ print $XS", "$F $ $X"],
        Lang::Hcl => &["ignore_changes = [ \"*\" ]", "a = b", "x { y = 1 }"],
        Lang::Html => &[
            "< b > $$$C < / b >",
            "< div > $$$C < / div >",
            "< a href = \"$H\" > $X < / a >",
            "< p class = \"$C\" / >",
        ],
        Lang::Json => &["{ \"strict\" : $V }", "[ $$$A ]", "$V"],
        Lang::Kotlin => &["$X . size == 0", "$A . let { $$$B }"],
        Lang::Lua => &["table . getn ( $T )", "local $A = require ( $M )"],
        Lang::Markdown => &["# $T"],
        Lang::Nix => &["with $A ; $B"],
        Lang::Php => &["array ( $$$I )", "isset ( $X )"],
        Lang::Ruby => &["$X . length == 0", "$A . nil?"],
        Lang::Scala => &["$X . size == 0", "$A . map ( $F )"],
        Lang::Solidity => &["now", "uint $X ;", "contract $C { $$$B }"],
        Lang::Swift => &["$X . count == 0"],
        Lang::Yaml => &["runs-on : $R", "name : $N"],
    }
}

#[rustfmt::skip]
const SELECTORS: &[&str] = &[
    "identifier", "call_expression", "call", "expression_statement", "binary_expression",
    "binary_operator", "function_definition", "no_such_kind", "",
];

/// (b) `Pattern::new` (and contextual patterns) never panic on token soups
/// in any language and strictness; a compiled pattern matched against
/// every node of a real file never panics, never leaks bindings from a
/// failed match and binds only its own metavariables.
#[test]
fn patterns_from_token_soups() {
    const ROUNDS: usize = 150;
    let mut rng = Rng::new(0x5eed_0002);
    let seps = ["", " ", " ", "\n", "\t", "  "];
    for (li, lang) in Lang::ALL.into_iter().enumerate() {
        let mut compiled = 0;
        for round in 0..ROUNDS {
            // Half the soups start from a pattern that compiles, with a few
            // tokens replaced, dropped or added; half are tokens only.
            let mut toks: Vec<&str> = if rng.chance(2) {
                rng.pick(seeds(lang)).split(' ').collect()
            } else {
                Vec::new()
            };
            let changes = if toks.is_empty() {
                1 + rng.below(10)
            } else {
                rng.below(3)
            };
            for _ in 0..changes {
                let tok = if rng.chance(3) {
                    rng.pick(&keywords(lang))
                } else {
                    rng.pick(COMMON_TOKENS)
                };
                let i = rng.below(toks.len() + 1);
                match rng.below(3) {
                    0 if i < toks.len() => toks[i] = tok,
                    1 if i < toks.len() => {
                        toks.remove(i);
                    }
                    _ => toks.insert(i, tok),
                }
            }
            let mut soup = String::new();
            for tok in toks {
                soup.push_str(tok);
                soup.push_str(rng.pick(&seps));
            }
            if rng.chance(6) {
                soup.push('\0');
                soup.push_str(rng.pick(SELECTORS));
            }
            let strictness = rng.below(5);
            let mut data = vec![(li + Lang::ALL.len() * strictness) as u8];
            data.extend_from_slice(soup.as_bytes());
            match std::panic::catch_unwind(|| harness::pattern(&data)) {
                Ok(ok) => compiled += ok as usize,
                Err(_) => panic!(
                    "{lang} round {round}, strictness #{strictness}: pattern {soup:?} panicked"
                ),
            }
        }
        assert!(
            // Languages whose bare expressions do not parse (HTML, Dart)
            // compile fewer soups; the floor keeps the generator honest.
            compiled > ROUNDS / 5,
            "{lang}: only {compiled} of {ROUNDS} soups compiled"
        );
    }
}

/// Leading spaces of the line holding `offset` (the documented measure of
/// indentation: spaces only, tabs count as none).
fn line_indent(text: &str, offset: usize) -> usize {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..offset]
        .chars()
        .take_while(|&c| c == ' ')
        .count()
}

/// A small JavaScript expression; multi-line ones put their lines at
/// arbitrary indentation (the renderer must carry it over exactly).
fn js_expr(rng: &mut Rng, depth: usize) -> String {
    let atoms = ["a", "bb", "1", "'s'", "\"é\"", "null", "x.y", "µ"];
    if depth == 0 {
        return rng.pick(&atoms).to_string();
    }
    match rng.below(7) {
        0 | 1 => rng.pick(&atoms).to_string(),
        2 => format!(
            "g({}, {})",
            js_expr(rng, depth - 1),
            js_expr(rng, depth - 1)
        ),
        3 => format!("{} * {}", js_expr(rng, depth - 1), js_expr(rng, depth - 1)),
        4 => format!("({})", js_expr(rng, depth - 1)),
        _ => {
            let inner = " ".repeat(rng.below(9));
            let close = " ".repeat(rng.below(5));
            format!(
                "[\n{inner}{},\n{inner}{}\n{close}]",
                js_expr(rng, depth - 1),
                js_expr(rng, depth - 1)
            )
        }
    }
}

/// One piece of a random fix template.
enum Piece {
    Text(&'static str),
    /// The metavariable as written and the name it renders.
    Var(&'static str, &'static str),
}

#[rustfmt::skip]
const TEXTS: &[&str] = &[
    "(", ")", ", ", "x", " + ", "\n", "\n  ", "\n    ", "  ", "return ", "$ ", "$x", "$$y", "$?z",
    "é", "{", "}", ";", "µ",
];
const VARS: &[(&str, &str)] = &[
    ("$A", "A"),
    ("$$A", "A"),
    ("$R", "R"),
    ("$$$R", "R"),
    ("$Z", "Z"),
    ("$$$Z", "Z"),
];

/// The documented re-indentation of a multi-line value: from the
/// indentation of its own line to that of the template line (lines with
/// fewer spaces than the difference keep theirs).
fn reindent_model(value: &str, own: usize, to: usize) -> String {
    let mut lines = value.split('\n');
    let mut out = lines.next().unwrap_or("").to_string();
    for l in lines {
        out.push('\n');
        if own > to {
            let cut = " ".repeat(own - to);
            out.push_str(l.strip_prefix(cut.as_str()).unwrap_or(l));
        } else {
            out.push_str(&" ".repeat(to - own));
            out.push_str(l);
        }
    }
    out
}

/// (c) Rendering a random template of text, `$VAR` and `$$$VAR` over a real
/// match gives the template with each variable replaced by the text it
/// bound (multi-line values re-indented as documented, unbound ones empty),
/// every later line indented like the match's line; a single-line template
/// without metavariables renders as itself.
#[test]
fn fix_renders_template_with_bound_text() {
    let mut rng = Rng::new(0x5eed_0003);
    let yaml = "id: t\nlanguage: javascript\nrule:\n  pattern: f($A, $$$R)\n";
    let rule = load_one(Path::new("t.yml"), 1, yaml).expect("rule compiles");
    for round in 0..1000 {
        let k = rng.pick(&[0usize, 0, 2, 4, 7]);
        let a = js_expr(&mut rng, 3);
        let rest: Vec<String> = (0..1 + rng.below(2))
            .map(|_| js_expr(&mut rng, 2))
            .collect();
        let prefix = if rng.chance(2) { "let z = 0;\n" } else { "" };
        let src = format!("{prefix}{}f({a}, {});\n", " ".repeat(k), rest.join(", "));
        let a_at = src.find("f(").expect("call") + 2;
        let r_at = a_at + a.len() + 2;
        let r = rest.join(", ");

        let mut template = String::new();
        let mut expected = String::new();
        let mut with_vars = false;
        for _ in 0..rng.below(8) {
            let piece = if rng.chance(2) {
                let (w, n) = rng.pick(VARS);
                Piece::Var(w, n)
            } else {
                Piece::Text(rng.pick(TEXTS))
            };
            match piece {
                Piece::Text(t) => {
                    template.push_str(t);
                    expected.push_str(t);
                }
                Piece::Var(written, name) => {
                    with_vars = true;
                    let to = line_indent(&template, template.len());
                    template.push_str(written);
                    let (value, at) = match name {
                        "A" => (a.as_str(), a_at),
                        "R" => (r.as_str(), r_at),
                        _ => ("", 0),
                    };
                    if value.contains('\n') {
                        expected.push_str(&reindent_model(value, line_indent(&src, at), to));
                    } else {
                        expected.push_str(value);
                    }
                }
            }
        }
        let expected = expected.replace('\n', &format!("\n{}", " ".repeat(k)));
        let tree = rule.lang.parse(&src);
        let matches = rule.find(tree.root_node(), &src);
        assert_eq!(matches.len(), 1, "round {round}: one call in {src:?}");
        let m = &matches[0];
        let parsed = refactor::rule::fix::Template::parse(&template);
        let out = parsed.render(&m.env, &Default::default(), &src, m.node.start_byte());
        assert_eq!(
            out.text, expected,
            "round {round}: template {template:?} over {src:?}"
        );
        if !with_vars && !template.contains('\n') {
            assert_eq!(out.text, template, "round {round}: plain template");
        }
    }
}

/// A Python or JavaScript expression with `+` chains written ` + `. A
/// multi-line part opens on a line indented `ind` and closes there, its
/// items one level deeper (possibly after a comment line).
fn plus_expr(rng: &mut Rng, depth: usize, ind: usize, py: bool) -> String {
    let atoms: &[&str] = if py {
        &["a", "b1", "2", "'s'", "\"é + µ\"", "None", "x.y", "-c"]
    } else {
        &["a", "b1", "2", "'s'", "\"é + µ\"", "null", "x.y", "-c"]
    };
    let term = |rng: &mut Rng| -> String {
        if depth == 0 {
            return rng.pick(atoms).to_string();
        }
        match rng.below(6) {
            0 | 1 => rng.pick(atoms).to_string(),
            2 => format!("({})", plus_expr(rng, depth - 1, ind, py)),
            3 => format!(
                "g({}, {})",
                plus_expr(rng, depth - 1, ind, py),
                rng.pick(atoms)
            ),
            4 => format!("[{}]", plus_expr(rng, depth - 1, ind, py)),
            _ => {
                let pad = " ".repeat(ind + 4);
                let comment = match (rng.chance(3), py) {
                    (false, _) => String::new(),
                    (true, true) => format!("{pad}# note\n"),
                    (true, false) => format!("{pad}// note\n"),
                };
                format!(
                    "[\n{comment}{pad}{},\n{pad}{},\n{}]",
                    plus_expr(rng, depth - 1, ind + 4, py),
                    plus_expr(rng, depth - 1, ind + 4, py),
                    " ".repeat(ind)
                )
            }
        }
    };
    let mut out = term(rng);
    for _ in 0..rng.below(4) {
        out.push_str(" + ");
        out.push_str(&term(rng));
    }
    out
}

fn py_block(rng: &mut Rng, ind: usize, depth: usize, out: &mut String) {
    for _ in 0..1 + rng.below(3) {
        let pad = " ".repeat(ind);
        match rng.below(if depth == 0 { 3 } else { 5 }) {
            0 => out.push_str(&format!("{pad}x = {}\n", plus_expr(rng, 2, ind, true))),
            1 => out.push_str(&format!(
                "{pad}print({})  # c\n",
                plus_expr(rng, 2, ind, true)
            )),
            2 => out.push_str(&format!("{pad}return {}\n", plus_expr(rng, 2, ind, true))),
            3 => {
                out.push_str(&format!("{pad}if {}:\n", plus_expr(rng, 1, ind, true)));
                py_block(rng, ind + 4, depth - 1, out);
            }
            _ => {
                out.push_str(&format!("{pad}def f(a, b):\n"));
                py_block(rng, ind + 4, depth - 1, out);
            }
        }
    }
}

fn js_block(rng: &mut Rng, ind: usize, depth: usize, out: &mut String) {
    for _ in 0..1 + rng.below(3) {
        let pad = " ".repeat(ind);
        match rng.below(if depth == 0 { 3 } else { 5 }) {
            0 => out.push_str(&format!("{pad}x = {};\n", plus_expr(rng, 2, ind, false))),
            1 => out.push_str(&format!(
                "{pad}h({}); // c\n",
                plus_expr(rng, 2, ind, false)
            )),
            2 => out.push_str(&format!(
                "{pad}let y = {};\n",
                plus_expr(rng, 2, ind, false)
            )),
            3 => {
                out.push_str(&format!("{pad}if ({}) {{\n", plus_expr(rng, 1, ind, false)));
                js_block(rng, ind + 2, depth - 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
            _ => {
                out.push_str(&format!("{pad}function f(a, b) {{\n"));
                js_block(rng, ind + 2, depth - 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
        }
    }
}

/// (d) The identity rule `$A + $B` → `$A + $B` leaves random Python and
/// JavaScript files byte-identical, through the pipeline's own match,
/// plan, apply and reparse stages.
#[test]
fn identity_rule_leaves_files_unchanged() {
    let mut rng = Rng::new(0x5eed_0004);
    for (lang, name) in [(Lang::Python, "t.py"), (Lang::JavaScript, "t.js")] {
        let yaml = format!(
            "id: same\nlanguage: {}\nrule:\n  pattern: $A + $B\nfix: $A + $B\n",
            lang.name()
        );
        let rules = [load_one(Path::new("t.yml"), 1, &yaml).expect("rule compiles")];
        let ids = vec!["same".to_string()];
        let mut edits = 0;
        for round in 0..300 {
            let mut text = String::new();
            if lang == Lang::Python {
                py_block(&mut rng, 0, 2, &mut text);
            } else {
                js_block(&mut rng, 0, 2, &mut text);
            }
            let file = SourceFile {
                path: PathBuf::from(name),
                lang,
                text: text.clone(),
            };
            let at = ScanAt {
                rel: name,
                glob_rel: name,
            };
            let clock = StageClock::default();
            let mut result = scan_file(file, at, &rules, &ids, false, &clock);
            edits += result.edits.iter().filter(|e| e.is_live()).count();
            finalize(&mut result, &rules);
            let (applied, _) = refactor::plan::apply(&text, &result.edits, result.crlf);
            assert!(
                applied == text && result.new_text.is_none() && result.rejected.is_none(),
                "{lang} round {round}: the identity rule changed\n{text}\ninto\n{applied}"
            );
        }
        assert!(
            edits > 300,
            "{lang}: only {edits} matches; the generator is too weak"
        );
    }
}

/// Found by the `rule_loader` fuzzer: libyaml counts a lone `\r` as a line
/// break, so a YAML error after one was reported lines past the end of the
/// file. Lines count `\n` only, and an error at the end of the input points
/// at the last line, not the one after it.
#[test]
fn yaml_errors_point_at_lines_of_the_file() {
    let doc = "id: t\nlanguage: python\nrule:\r\r\r\r\n  pattern: $X\n  bogus: 1\n";
    let e = load_one(Path::new("r.yml"), 1, doc).expect_err("unknown field");
    assert_eq!(
        (e.line, e.to_string().starts_with("r.yml:5: ")),
        (5, true),
        "{e}"
    );
    let e = load_one(Path::new("r.yml"), 7, "id: t\nrule: {pattern: $X\n").expect_err("open flow");
    assert_eq!(e.line, 8, "{e}");
}

/// Found by the `pattern` fuzzer (AddressSanitizer: global-buffer-overflow
/// in `ts_language_symbol_for_name`): tree-sitter looks kinds and fields up
/// as C strings, so a `selector`, `kind` or `field` with a NUL byte read
/// past the end of the grammar's names, and any prefix of `ERROR` named the
/// error kind. They are unknown kinds and fields now.
#[test]
fn kind_and_field_names_with_nul_bytes_are_unknown() {
    let long = format!("identifier\0{}", "x".repeat(24));
    for lang in Lang::ALL {
        assert_eq!(lang.kind_id(&long), None, "{lang}");
        assert_eq!(lang.kind_id("identifier\0"), None, "{lang}");
        assert!(lang.kind_id("ERROR").is_some(), "{lang}");
        for prefix in ["", "E", "ERR", "ERRO"] {
            assert_eq!(lang.kind_id(prefix), None, "{lang}: `{prefix}`");
        }
    }
    assert!(Lang::Python.kind_id("identifier").is_some());
    assert!(Lang::Python.field_id("name").is_some());
    assert_eq!(
        Lang::Python.field_id("name\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
        None
    );
    let context = Pattern::contextual("a = 1", &long, Lang::Python, Strictness::Smart);
    assert!(matches!(context, Err(PatternError::NoSelector(_))));
    let kind = "id: t\nlanguage: python\nrule:\n  kind: \"identifier\\0\\0\\0\\0\\0\\0\\0\\0\"\n";
    let e = load_one(Path::new("r.yml"), 1, kind).expect_err("NUL in kind");
    assert!(e.to_string().contains("unknown node kind"), "{e}");
    let empty = "id: t\nlanguage: python\nrule:\n  kind: ''\n";
    let e = load_one(Path::new("r.yml"), 1, empty).expect_err("empty kind");
    assert!(e.to_string().contains("unknown node kind"), "{e}");
    let field = "id: t\nlanguage: python\nrule:\n  kind: call\n  has:\n    field: \"function\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\"\n    kind: identifier\n";
    let e = load_one(Path::new("r.yml"), 1, field).expect_err("NUL in field");
    assert!(e.to_string().contains("unknown field"), "{e}");
}

/// Every input the fuzzers found (`fixtures/fuzz/<target>/`) replays
/// through the same entry point without a panic.
#[test]
fn fuzz_findings_replay() {
    type Entry = fn(&[u8]);
    let targets: [(&str, Entry); 3] = [
        ("rule_loader", |b| {
            harness::rule_loader(b);
        }),
        ("pattern", |b| {
            harness::pattern(b);
        }),
        ("fix_render", |b| {
            harness::fix_render(b);
        }),
    ];
    for (target, entry) in targets {
        let dir = root().join("fixtures/fuzz").join(target);
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).expect("read fixture");
            let run = std::panic::catch_unwind(|| entry(&bytes));
            assert!(run.is_ok(), "{} panicked", f.display());
        }
    }
}
