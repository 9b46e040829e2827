//! The literal prefilter (a file that lacks a rule's tokens is not parsed
//! for that rule) never changes results: every shipped rule, the rewriter
//! and differential rules, on the fixtures of every language, give the same
//! report with and without `--no-prefilter`; and files the prefilter rules
//! out are really skipped.

mod common;

use common::*;
use refactor::matcher::prefilter::Literals;
use refactor::rule::load::load_one;
use std::path::Path;

fn json_report(dir: &Path, extra: &[&str], rules: &str, paths: &[&str]) -> String {
    let mut args = vec![
        "check",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--rule",
        rules,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(paths);
    let out = refactor(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn shipped_rules_report_the_same_with_and_without_the_prefilter() {
    let root = root();
    let rule_sets = [
        "rules/python",
        "rules/rust",
        "rules/javascript",
        "rules/typescript",
        "rules/go",
        "rules/java",
        "rules/c",
        "rules/cpp",
        "scripts/differential-rules",
        "fixtures/langs/rules.yml",
    ];
    // Each language's fixture rule (its folder also holds code, which is
    // not a rule file).
    let mut rule_sets: Vec<String> = rule_sets.iter().map(|s| s.to_string()).collect();
    for e in std::fs::read_dir(root.join("fixtures/languages")).unwrap() {
        let dir = e.unwrap().path().join("rules");
        rule_sets.push(dir.strip_prefix(&root).unwrap().display().to_string());
    }
    for rules in rule_sets {
        let rules = root.join(rules).to_string_lossy().into_owned();
        let paths = [
            "fixtures/langs",
            "fixtures/languages",
            "fixtures/python-app",
            "fixtures/rewriters",
            "src",
        ];
        let with = json_report(&root, &[], &rules, &paths);
        let without = json_report(&root, &["--no-prefilter"], &rules, &paths);
        assert_eq!(with, without, "{rules}");
    }
}

fn literals(yaml: &str) -> Literals {
    let rule = load_one(Path::new("t.yml"), 1, yaml).expect("rule compiles");
    rule.literals
}

fn has(s: &str) -> Literals {
    Literals::Has(s.into())
}

fn word(s: &str) -> Literals {
    Literals::Word(s.into())
}

#[test]
fn literals_follow_the_rule_structure() {
    let py = |rule: &str| literals(&format!("id: t\nlanguage: python\nrule:\n{rule}"));
    assert_eq!(
        py("  pattern: $A == None\n"),
        Literals::All(vec![has("=="), word("None")])
    );
    // `any` needs one side; `not` needs nothing, and `kind` needs the
    // keywords its grammar rule spells (none for a call).
    assert_eq!(
        py("  any:\n    - pattern: $A == None\n    - pattern: $A != None\n"),
        Literals::OneOf(vec![
            Literals::All(vec![has("=="), word("None")]),
            Literals::All(vec![has("!="), word("None")]),
        ])
    );
    assert_eq!(
        py("  kind: call\n  not: {pattern: print($$$A)}\n"),
        Literals::Any
    );
    // A relational rule's target must be in the file too.
    assert_eq!(
        py("  kind: integer\n  inside: {pattern: print($$$A), stopBy: end}\n"),
        Literals::All(vec![word("print"), has("("), has(")")])
    );
    // Signature strictness ignores text.
    assert_eq!(
        py("  pattern:\n    context: foo($A)\n    selector: call\n    strictness: signature\n"),
        Literals::Any
    );
    assert!(!py("  pattern: $A == None\n").holds(b"x = 1\nprint(x)\n"));
    // Keywords and identifiers are whole words; string contents are not
    // (an escape sequence may end in a letter right before them).
    let none = py("  pattern: $A == None\n");
    assert!(!none.holds(b"t == NoneType or x_None == 1\n"));
    assert!(none.holds(b"t == (None)\n"));
    assert!(none.holds(b"if 1 == None: pass\n"));
    assert_eq!(
        py("  pattern: f('abc')\n"),
        Literals::All(vec![word("f"), has("("), has("'"), has("abc"), has(")")])
    );
}

/// A `kind` needs the keywords every node of that kind spells, as whole
/// words; files without them are skipped, with the same results.
#[test]
fn kinds_need_their_keywords() {
    let lit = |lang: &str, rule: &str| literals(&format!("id: t\nlanguage: {lang}\nrule:\n{rule}"));
    assert_eq!(lit("typescript", "  kind: module\n"), word("module"));
    assert_eq!(
        lit("typescript", "  kind: internal_module\n"),
        word("namespace")
    );
    assert_eq!(
        lit("python", "  kind: for_statement\n"),
        Literals::All(vec![word("for"), word("in")])
    );
    assert_eq!(lit("rust", "  kind: match_expression\n"), word("match"));
    // Kinds that spell no keyword, and languages without word boundaries.
    assert_eq!(lit("python", "  kind: string\n"), Literals::Any);
    assert_eq!(lit("ruby", "  kind: if\n"), Literals::Any);
    // `any` of kinds needs one of their keywords.
    assert_eq!(
        lit(
            "typescript",
            "  any:\n    - kind: module\n    - kind: internal_module\n"
        ),
        Literals::OneOf(vec![word("module"), word("namespace")])
    );
    let module = lit("typescript", "  kind: module\n");
    assert!(!module.holds(b"const modules = module_x;\n"));
    assert!(module.holds(b"declare module Foo {}\n"));

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("a.ts"),
        "module Foo {\n  export const x = 1;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.ts"),
        "namespace Bar {\n  export const modules = 1;\n}\n",
    )
    .unwrap();
    let rule = root().join("rules/typescript/namespace-keyword.yml");
    let rule = rule.to_str().unwrap();
    let out = refactor(
        dir.path(),
        &["apply", "--json", "--stats", "--rule", rule, "."],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats: serde_json::Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v.get("stats").cloned())
        .expect("a stats line");
    assert_eq!(stats["prefilter_skipped_files"], 1, "{stats}");
    let report = json_report(dir.path(), &[], rule, &["."]);
    assert!(report.contains("a.ts"), "{report}");
    assert_eq!(
        report,
        json_report(dir.path(), &["--no-prefilter"], rule, &["."])
    );
}

/// A unit of a partial parse is kept for what the match needs, without what
/// an `inside` target that may be a block around the unit needs (its
/// keyword or name lies in the block's header, outside the unit).
#[test]
fn unit_literals_leave_out_blocks_around_the_unit() {
    let unit = |lang: &str, rule: &str| {
        let yaml = format!("id: t\nlanguage: {lang}\nrule:\n{rule}");
        let rule = load_one(Path::new("t.yml"), 1, &yaml).expect("rule compiles");
        (rule.literals, rule.unit_literals)
    };
    let (file, in_unit) = unit(
        "python",
        "  pattern: $A == None\n  inside:\n    kind: function_definition\n    stopBy: end\n    has: {field: name, regex: ^check_}\n",
    );
    assert_eq!(
        file,
        Literals::All(vec![has("=="), word("None"), word("def"), has("check_")])
    );
    assert_eq!(in_unit, Literals::All(vec![has("=="), word("None")]));
    // An ancestor that is never such a block lies in the unit.
    let (file, in_unit) = unit(
        "python",
        "  kind: integer\n  inside: {pattern: print($$$A), stopBy: end}\n",
    );
    assert_eq!(file, in_unit);
    let (file, in_unit) = unit(
        "typescript",
        "  kind: type_annotation\n  inside:\n    kind: variable_declarator\n    inside: {kind: variable_declaration}\n",
    );
    assert_eq!(file, word("var"));
    assert_eq!(in_unit, word("var"));
    // A class around a TypeScript member is one.
    let (file, in_unit) = unit(
        "typescript",
        "  kind: predefined_type\n  inside: {kind: class_declaration, stopBy: end}\n",
    );
    assert_eq!(file, word("class"));
    assert_eq!(in_unit, Literals::Any);
}

/// A `regex` needs the literal text every match of it contains.
#[test]
fn regex_literals_are_required() {
    let py = |rule: &str| literals(&format!("id: t\nlanguage: python\nrule:\n{rule}"));
    // Literal runs, with optional pieces in between needing nothing.
    assert_eq!(
        py("  kind: argument_list\n  regex: ^\\(\\s*object\\s*\\)$\n"),
        Literals::All(vec![has("("), has("object"), has(")")])
    );
    // Small classes expand; a literal right after `^` on a string node
    // starts a token, so `you'` does not count for `u'`.
    let prefix = py("  kind: string\n  regex: ^[uU][\"']\n");
    assert_eq!(
        prefix,
        Literals::OneOf(
            ["U\"", "U'", "u\"", "u'"]
                .iter()
                .map(|s| Literals::Starts(s.to_string()))
                .collect()
        )
    );
    assert!(!prefix.holds(b"s = \"you'll see\"\n"));
    assert!(prefix.holds(b"s = (u'x')\n"));
    // Alternatives need one side; optional and wide pieces need nothing.
    assert_eq!(
        py("  kind: identifier\n  regex: foo|bar\n"),
        Literals::OneOf(vec![has("foo"), has("bar")])
    );
    assert_eq!(py("  kind: identifier\n  regex: ^a?\\w+$\n"), Literals::Any);
    // Without `^`, or on a node that may start mid-token, a literal may
    // follow any character.
    assert_eq!(py("  kind: string_content\n  regex: ^abc\n"), has("abc"));
    // Multi-line `^` matches after any newline: not a token start.
    assert_eq!(py("  kind: string\n  regex: (?m)^abc\n"), has("abc"));
}

/// A file without the rule's tokens is not parsed: a file that does not
/// parse at all (it would be reported as matching nothing either way) costs
/// nothing, and the skip is visible in `--stats`.
#[test]
fn prefiltered_files_are_skipped_before_parsing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.py"), "x == None\n").expect("write");
    std::fs::write(dir.path().join("b.py"), "y = 1\n").expect("write");
    std::fs::write(
        dir.path().join("r.yml"),
        "id: t\nlanguage: python\nrule:\n  pattern: $A == None\nfix: $A is None\n",
    )
    .expect("write");
    let out = refactor(dir.path(), &["apply", "--stats", "--rule", "r.yml", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("prefilter: 1 of 2 files skipped"), "{err}");
    let out = refactor(
        dir.path(),
        &["apply", "--stats", "--no-prefilter", "--rule", "r.yml", "."],
    );
    assert!(stderr(&out).contains("prefilter: off"), "{}", stderr(&out));
}
