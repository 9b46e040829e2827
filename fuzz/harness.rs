//! Entry points shared by the cargo-fuzz targets (`fuzz/fuzz_targets/`) and
//! the replay test in `tests/properties.rs`: each takes raw bytes, runs one
//! part of the engine on them and panics when a property is broken, so a
//! crashing input found by the fuzzer replays through exactly the same code.

use refactor::lang::Lang;
use refactor::matcher::{preorder, Binding, Ctx, Env, FileCtx, Pattern, Strictness};
use refactor::pipeline::{finalize, scan_file, ScanAt, StageClock};
use refactor::rule::fix::{indent_at, Template};
use refactor::rule::load::{load_one, split_documents};
use refactor::rule::transform::{self, Case, Separator, Transform};
use refactor::walk::SourceFile;
use std::path::{Path, PathBuf};

/// A fixed source per language: nesting, comments, multi-line calls at
/// several indentations, non-ASCII text.
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => {
            "use std::fmt;\n\nfn main() {\n    let items: Vec<u32> = Vec::new();\n    if items.len() == 0 {\n        println!(\"empty µ\");\n    }\n    let n = items.first().map(|x| x + 1).unwrap_or(0); // note\n    call(a, b,\n         c + 1);\n    match n {\n        0 => {}\n        _ => foo(bar(1, 2), vec![\n            3,\n        ]),\n    }\n}\n\nstruct S<'a> { x: &'a str }\nimpl S<'_> { fn f(&self) -> usize { self.x.len() } }\n"
        }
        Lang::Python => {
            "import os\n\n\ndef check(value, registry=None):\n    # comment\n    if value == None:\n        return False\n    if not value in registry:\n        return call(a, b,\n                    c + 1)\n    x = foo(bar(1, 2), [\n        3,\n    ])\n    return value in registry.keys()  # é\n\n\nclass K(Base):\n    def __init__(self, *args, **kw):\n        super(K, self).__init__(*args, **kw)\n        self.s = {x for x in [1, 2] if x}\n"
        }
        Lang::JavaScript => {
            "var a = 1, b = 2;\nfunction f(x) {\n  // comment\n  if (x == null) { return g(a, b,\n      c + 1); }\n  const y = foo(bar(1, 2), [\n    3,\n  ]);\n  return `t ${x}` + 'µ';\n}\nclass C extends D { m() { return this.x?.y ?? 0; } }\n"
        }
        Lang::TypeScript => {
            "function parse(input: any): string {\n  const value: any = JSON.parse(input);\n  return String(call(value, 1,\n    2));\n}\ninterface I<T> { x: T; f(a: number): void }\ntype U = string | number;\nenum E { A = 1, B }\n"
        }
        Lang::Tsx => {
            "export function View(props: { title: any }) {\n  const n = f(props, 1,\n    2);\n  return <div className=\"é\">{props.title}{n}</div>;\n}\n"
        }
        Lang::Go => {
            "package main\n\nimport (\n\t\"errors\"\n\t\"fmt\"\n)\n\nfunc check(n int) error {\n\t// comment\n\tif n == 0 {\n\t\treturn call(a, b,\n\t\t\tc+1)\n\t}\n\treturn errors.New(fmt.Sprintf(\"bad value %d µ\", n))\n}\n\ntype T struct{ x int }\n\nfunc (t *T) M() int { return t.x }\n"
        }
        Lang::Java => {
            "class Main {\n    // comment\n    static boolean blank(String s) {\n        return s.length() == 0 || call(a, b,\n                c + 1);\n    }\n    int f(int x) { return x > 0 ? g(x, 1) : 0; }\n}\n"
        }
        Lang::C => {
            "#include <stddef.h>\n\n/* comment */\nint is_null(const char *p) {\n    if (p == NULL) { return call(a, b,\n                                 c + 1); }\n    return p[0] == 'x';\n}\nstruct s { int x; };\n"
        }
        Lang::Cpp => {
            "#include <cstddef>\n\nnamespace n {\ntemplate <typename T>\nbool is_null(const T *p) {\n    // comment\n    return p == NULL || call(a, b,\n                             c + 1);\n}\n}  // namespace n\n"
        }
        Lang::Bash => "#!/bin/sh\n# comment\nif which git >/dev/null; then\n  echo \"found $1\" | call a b \\\n    c\nfi\nf() { local x=$(which git); echo \"${x:-µ}\"; }\n",
        Lang::CSharp => "namespace App {\n    // comment\n    public class Store {\n        public bool Missing(object item) {\n            if (item == null) { return Call(a, b,\n                c + 1); }\n            return item.Length == 0;\n        }\n    }\n}\n",
        Lang::Css => "/* comment */\n.card {\n  margin: 0px auto;\n  color: #fff;\n  padding: calc(1px +\n    2px);\n}\n@media (max-width: 10px) { a { b: c(1, 2); } }\n",
        Lang::Dart => "// comment\nbool noItems(List<int> items) {\n  if (items.length == 0) {\n    return call(a, b,\n        c + 1);\n  }\n  return false;\n}\nclass K { int x = 0; }\n",
        Lang::Elixir => "defmodule Shop do\n  # comment\n  def empty?(cart) do\n    Enum.count(cart.items) == 0 || call(a, b,\n      c + 1)\n  end\n  def f(x), do: x |> g() |> h(\"µ\")\nend\n",
        Lang::Haskell => "module Main where\n\n-- comment\nmain :: IO ()\nmain = do\n  let xs = [1, 2, 3] :: [Int]\n  mapM_ print xs\n  print $ call a b\n    (c + 1)\n\nf :: Int -> Int\nf x = if x == 0 then 1 else x\n",
        Lang::Hcl => "# comment\nresource \"aws_instance\" \"web\" {\n  ami = var.ami\n  tags = {\n    Name = \"web-${var.env}\"\n  }\n  lifecycle {\n    ignore_changes = [\"*\"]\n  }\n  count = call(a, b,\n    c + 1)\n}\n",
        Lang::Html => "<!DOCTYPE html>\n<html>\n  <!-- comment -->\n  <body>\n    <p class=\"a\">Read the <b>manual</b> first.</p>\n    <a href=\"x\">µ</a>\n  </body>\n</html>\n",
        Lang::Json => "{\n  \"compilerOptions\": {\n    \"target\": \"es2022\",\n    \"strict\": false,\n    \"paths\": [1, 2.5, null, true]\n  },\n  \"name\": \"µ\"\n}\n",
        Lang::Kotlin => "package app\n\n// comment\nfun noItems(items: List<Int>): Boolean {\n    if (items.size == 0) {\n        return call(a, b,\n            c + 1)\n    }\n    return items.let { it.isEmpty() }\n}\n",
        Lang::Lua => "-- comment\nlocal M = require(\"m\")\nlocal function last(items)\n  return items[table.getn(items)] or call(a, b,\n    c + 1)\nend\nreturn last\n",
        Lang::Markdown => "# Install\n\nSome *text* with `code`.\n\n```shell\ncargo install refactor\n```\n\n- item µ\n- item 2\n",
        Lang::Nix => "{ stdenv, lib }:\n# comment\nstdenv.mkDerivation {\n  pname = \"hello\";\n  meta = with stdenv.lib; {\n    license = licenses.mit;\n  };\n  x = call a b\n    (c + 1);\n}\n",
        Lang::Php => "<?php\n// comment\nfunction defaults($a) {\n    if (isset($a)) { return call($a, $b,\n        $c + 1); }\n    return array('debug' => false, 'level' => 3);\n}\n",
        Lang::Ruby => "# comment\nclass Cart\n  def empty?\n    @items.length == 0 || call(a, b,\n      c + 1)\n  end\n  def f(x) = x.nil? ? \"µ\" : x\nend\n",
        Lang::Scala => "// comment\nobject Cart {\n  def noItems(items: List[Int]): Boolean = items.size == 0\n  def f(x: Int) = call(a, b,\n    c + 1).map(y => y)\n}\n",
        Lang::Solidity => "pragma solidity ^0.6.0;\n\n// comment\ncontract Timer {\n    uint public started;\n    function start() public {\n        require(msg.sender != address(0), \"µ\");\n        started = now + call(a, b,\n            c + 1);\n    }\n}\n",
        Lang::Swift => "// comment\nfunc noItems(_ items: [Int]) -> Bool {\n    guard let x = items.first else { return true }\n    if items.count == 0 {\n        return call(a, b,\n            c + 1)\n    }\n    return x == 0\n}\n",
        Lang::Yaml => "# comment\nname: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-18.04\n    steps:\n      - uses: actions/checkout@v4\n      - run: |\n          echo µ\n",
    }
}

/// Number of lines of `text`, counting a last line without a newline.
fn line_count(text: &str) -> usize {
    text.split_inclusive('\n').count().max(1)
}

/// Runs a loaded rule over the fixed source of its language through the
/// pipeline's own stages (match, plan, apply, reparse), without the literal
/// prefilter: a rule that matches must pass the prefilter too.
fn run_rule(rule: refactor::rule::Rule) {
    let may_match = rule.literals.holds(source(rule.lang).as_bytes());
    let file = SourceFile {
        path: PathBuf::from("fuzz-input"),
        lang: rule.lang,
        text: source(rule.lang).to_string(),
    };
    let rules = [rule];
    let ids = vec![rules[0].id.clone()];
    let at = ScanAt {
        rel: "fuzz-input",
        glob_rel: "fuzz-input",
    };
    let mut result = scan_file(file, at, &rules, &ids, false, &StageClock::default());
    assert!(
        may_match || result.findings.is_empty(),
        "the prefilter ({:?}) would skip a file the rule matches",
        rules[0].literals
    );
    for e in &result.edits {
        let mut last = 0;
        for h in &e.holes {
            assert!(
                h.offset >= last && e.replacement.is_char_boundary(h.offset),
                "hole offset {} is not a char boundary of {:?}",
                h.offset,
                e.replacement
            );
            last = h.offset;
        }
    }
    finalize(&mut result, &rules);
}

/// Bytes → rule file → every `---` document through `load_one`. A rule that
/// loads is run over the fixed source of its language; an error must read
/// `path:line: message` with the line inside the file. Returns how many
/// documents loaded.
pub fn rule_loader(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let lines = line_count(&text);
    let path = Path::new("fuzz.yml");
    let mut loaded = 0;
    for (start, doc) in split_documents(&text) {
        match load_one(path, start, &doc) {
            Ok(rule) => {
                run_rule(rule);
                loaded += 1;
            }
            Err(e) => {
                let shown = e.to_string();
                assert!(
                    shown.starts_with(&format!("fuzz.yml:{}: ", e.line)),
                    "error does not start with `path:line: `: {shown}"
                );
                assert!(
                    (1..=lines).contains(&e.line),
                    "error line {} outside the file ({lines} lines): {shown}",
                    e.line
                );
            }
        }
    }
    loaded
}

const STRICTNESS: [Strictness; 5] = [
    Strictness::Smart,
    Strictness::Cst,
    Strictness::Ast,
    Strictness::Relaxed,
    Strictness::Signature,
];

/// Byte 0 picks the language and strictness; the rest is the pattern, or
/// `context\0selector`. A pattern that compiles is matched against every
/// node of the fixed source: a failed match leaves the environment as it
/// was, a successful one binds only the pattern's own metavariables, to
/// nodes of that source. Returns whether the pattern compiled.
pub fn pattern(data: &[u8]) -> bool {
    let Some((&head, rest)) = data.split_first() else {
        return false;
    };
    let lang = Lang::ALL[head as usize % Lang::ALL.len()];
    let strictness = STRICTNESS[(head as usize / Lang::ALL.len()) % STRICTNESS.len()];
    let text = String::from_utf8_lossy(rest);
    let compiled = match text.split_once('\0') {
        Some((context, selector)) => Pattern::contextual(context, selector, lang, strictness),
        None => Pattern::new(&text, lang, strictness),
    };
    let Ok(pat) = compiled else { return false };
    let mut defined: Vec<String> = pat.defined_vars().into_iter().map(String::from).collect();
    defined.sort();
    defined.dedup();
    let src = source(lang);
    let tree = lang.parse(src);
    preorder(tree.root_node(), |node| {
        let mut env = Env::new();
        if pat.matches(node, src, &mut env) {
            // A name is bound at most once per match: rebuilding the
            // environment from the pattern's own names must account for
            // every binding.
            let mut own = Env::new();
            for name in &defined {
                let Some(b) = env.get(name) else { continue };
                let nodes = match b {
                    Binding::Single(n) => vec![*n],
                    Binding::Multi(ns) => ns.clone(),
                };
                for n in nodes {
                    assert!(n.end_byte() <= src.len(), "binding outside the source");
                }
                own.insert(name, b.clone());
            }
            for l in env.labels() {
                own.add_label(*l);
            }
            assert!(
                env.snapshot() == own.snapshot(),
                "bound a metavariable the pattern does not define"
            );
        } else {
            assert!(
                env.snapshot() == Env::new().snapshot(),
                "a failed match left bindings"
            );
        }
    });
    true
}

/// The rule `fix_render` renders against: a call with at least one argument.
fn call_rule(lang: Lang) -> refactor::rule::Rule {
    let yaml = format!(
        "id: call\nlanguage: {}\nrule:\n  pattern: $F($A, $$$R)\n",
        lang.name()
    );
    load_one(Path::new("call.yml"), 1, &yaml).expect("the call rule compiles")
}

const RENDER_LANGS: [Lang; 4] = [Lang::Python, Lang::JavaScript, Lang::Rust, Lang::Go];
const CASES: [Case; 7] = [
    Case::Lower,
    Case::Upper,
    Case::Capitalize,
    Case::Camel,
    Case::Snake,
    Case::Kebab,
    Case::Pascal,
];

/// Transforms `T1` (substring of `$A`), `T2` (replace in `$$$R`) and `T3`
/// (case conversion of `$F`), as bytes 1–3 and the optional `\0regex\0by`
/// tail of the input describe them.
fn transforms(
    flags: u8,
    start: i8,
    end: i8,
    regex: Option<&str>,
    by: &str,
) -> Vec<(String, Transform)> {
    let mut out = Vec::new();
    if flags & 1 != 0 {
        out.push((
            "T1".to_string(),
            Transform::Substring {
                source: "$A".into(),
                start: (flags & 2 != 0).then_some(start as i64),
                end: (flags & 4 != 0).then_some(end as i64),
            },
        ));
    }
    if let Some(re) = regex.and_then(|r| regex::Regex::new(r).ok()) {
        out.push((
            "T2".to_string(),
            Transform::Replace {
                source: "$$$R".into(),
                regex: re,
                by: by.to_string(),
            },
        ));
    }
    if flags & 8 != 0 {
        let case = CASES[(flags >> 4) as usize % CASES.len()];
        let separators = Separator::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (start as u8) & (1 << i) != 0)
            .map(|(_, s)| s)
            .collect();
        out.push((
            "T3".to_string(),
            Transform::Convert {
                source: "$F".into(),
                case,
                separators,
            },
        ));
    }
    out
}

/// Byte 0 picks the language, bytes 1–3 the transforms; the rest is the
/// fix template (optionally followed by `\0regex\0by` for `T2`). The
/// template is parsed and rendered for every call in the fixed source.
/// Holes land on char boundaries in order, and a template without `$` comes
/// back as its own text, re-indented to the match's line. Returns how many
/// times the template was rendered.
pub fn fix_render(data: &[u8]) -> usize {
    if data.len() < 4 {
        return 0;
    }
    let lang = RENDER_LANGS[data[0] as usize % RENDER_LANGS.len()];
    let (flags, start, end) = (data[1], data[2] as i8, data[3] as i8);
    let text = String::from_utf8_lossy(&data[4..]);
    let mut parts = text.split('\0');
    let tpl_text = parts.next().unwrap_or("");
    let regex = parts.next();
    let by = parts.next().unwrap_or("");
    let template = Template::parse(tpl_text);
    let ts = transforms(flags, start, end, regex, by);
    let rule = call_rule(lang);
    let src = source(lang);
    let tree = lang.parse(src);
    let mut renders = 0;
    let file = FileCtx::new(tree.root_node());
    let ctx = Ctx {
        src,
        utils: &rule.utils,
        file: &file,
    };
    for m in rule.find(tree.root_node(), src) {
        renders += 1;
        let done = transform::run(&ts, &m.env, &m.env, ctx, &rule.rewriters);
        let site = m.node.start_byte();
        let out = template.render(&m.env, &done, src, site);
        let mut last = 0;
        for (name, off) in &out.holes {
            assert!(
                *off >= last && out.text.is_char_boundary(*off),
                "hole `{name}` at {off} in {:?}",
                out.text
            );
            last = *off;
        }
        if !tpl_text.contains('$') {
            let pad = " ".repeat(indent_at(src, site));
            assert_eq!(
                out.text,
                tpl_text.replace('\n', &format!("\n{pad}")),
                "a template without metavariables renders as itself"
            );
        }
    }
    renders
}
